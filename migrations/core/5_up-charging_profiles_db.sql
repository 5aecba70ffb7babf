-- Installed charging profiles; they must survive a reboot (K01.FR.27).
-- PROFILE holds the ChargingProfileType as JSON; EVSE_ID 0 means the whole station.
CREATE TABLE CHARGING_PROFILES (
    ID INT PRIMARY KEY NOT NULL,
    EVSE_ID INT NOT NULL,
    STACK_LEVEL INT NOT NULL,
    CHARGING_PROFILE_PURPOSE TEXT NOT NULL,
    PROFILE TEXT NOT NULL
);
