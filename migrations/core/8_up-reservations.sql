-- Reservations the CSMS made with ReserveNow (H01) that have not ended yet. The Reserved state
-- must survive a reboot (B01.FR.13, B11.FR.05); libocpp keeps no reservation table, so this one
-- is the project's own (storage/reservation_repo.py). EVSE_ID is NULL for a reservation of an
-- unspecified EVSE (H01.S1); CONNECTOR_TYPE is the ConnectorEnumType asked for, if any (H01.S3).
-- ID_TOKEN and GROUP_ID_TOKEN are IdTokenType objects as JSON; EXPIRY and CREATED are OCPP
-- date-times (UTC, Z).
CREATE TABLE RESERVATIONS (
    ID INTEGER PRIMARY KEY NOT NULL,
    EVSE_ID INTEGER,
    CONNECTOR_TYPE TEXT,
    ID_TOKEN TEXT NOT NULL,
    GROUP_ID_TOKEN TEXT,
    EXPIRY TEXT NOT NULL,
    CREATED TEXT NOT NULL
);
