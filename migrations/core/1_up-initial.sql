-- Core database, schema version 1: the tables of libocpp's OCPP 2.0.1 core database
-- (config/v2/core_migrations) so a database written by either program opens in the other.
-- Names, column types and constraints must stay as libocpp has them; change them only through
-- a new numbered migration that libocpp also has.
--
-- There is deliberately no 1_down file: like libocpp, version 1 is the floor (libocpp's
-- SchemaUpdater counts one initial file plus up/down pairs and rejects a folder with a 1_down).
-- Foreign keys are switched on per connection by storage/database.py; a PRAGMA here would be
-- a no-op anyway because the runner executes this file inside a transaction.

-- Authorization cache (C10; C10.FR.02 persistent across reboots): hashed idToken -> IdTokenInfo JSON.
CREATE TABLE AUTH_CACHE (
    ID_TOKEN_HASH TEXT PRIMARY KEY NOT NULL,
    ID_TOKEN_INFO TEXT NOT NULL
);

-- Operational state of the station, every EVSE and every connector; what ChangeAvailability
-- set must survive a reboot (G03.FR.08, G04.FR.09, B01.FR.07).
--   EVSE_ID 0, CONNECTOR_ID 0  -> the whole charging station
--   EVSE_ID n, CONNECTOR_ID 0  -> EVSE n as a whole
--   EVSE_ID n, CONNECTOR_ID m  -> connector m of EVSE n
CREATE TABLE AVAILABILITY (
    EVSE_ID INT NOT NULL,
    CONNECTOR_ID INT NOT NULL,
    OPERATIONAL_STATUS TEXT NOT NULL, -- 'Operative' or 'Inoperative'
    PRIMARY KEY (EVSE_ID, CONNECTOR_ID),
    -- a connector always belongs to an EVSE, so EVSE 0 only exists with connector 0
    CHECK (EVSE_ID >= 0 AND CONNECTOR_ID >= 0 AND (EVSE_ID > 0 OR CONNECTOR_ID = 0))
);

-- Transaction-related messages waiting for delivery to the CSMS (E and J blocks: they must
-- survive offline periods and restarts).
CREATE TABLE TRANSACTION_QUEUE (
    UNIQUE_ID TEXT PRIMARY KEY NOT NULL,
    MESSAGE TEXT NOT NULL,
    MESSAGE_TYPE TEXT NOT NULL,
    MESSAGE_ATTEMPTS INT NOT NULL,
    MESSAGE_TIMESTAMP TEXT NOT NULL
);

-- Local authorization list (D01; D01.FR.10 persistent). AUTH_LIST_VERSION has a single row, ID 0.
CREATE TABLE AUTH_LIST_VERSION (
    ID INT PRIMARY KEY NOT NULL,
    VERSION INT
);

CREATE TABLE AUTH_LIST (
    ID_TOKEN_HASH TEXT PRIMARY KEY NOT NULL,
    ID_TOKEN_INFO TEXT NOT NULL
);

-- A CSMS sends versionNumber > 0 (D01.FR.18), so 0 means "no list installed yet".
INSERT OR IGNORE INTO AUTH_LIST_VERSION (ID, VERSION) VALUES (0, 0);

-- Meter values of running transactions. The *_ENUM lookup tables are empty here: libocpp
-- clears and refills them from its enum ordinals each time it starts without an ongoing
-- transaction, and whoever writes METER_VALUE_ITEMS here must fill them the same way.
CREATE TABLE READING_CONTEXT_ENUM (
    ID INT PRIMARY KEY,
    READING_CONTEXT TEXT
);

CREATE TABLE MEASURAND_ENUM (
    ID INT PRIMARY KEY,
    MEASURAND TEXT
);

CREATE TABLE PHASE_ENUM (
    ID INT PRIMARY KEY,
    PHASE TEXT
);

CREATE TABLE LOCATION_ENUM (
    ID INT PRIMARY KEY,
    LOCATION TEXT
);

-- One row per MeterValueType; ROWID is declared explicitly so METER_VALUE_ITEMS can reference it.
CREATE TABLE METER_VALUES (
    ROWID INTEGER PRIMARY KEY,
    TRANSACTION_ID TEXT NOT NULL,
    TIMESTAMP INT64 NOT NULL,
    READING_CONTEXT INTEGER REFERENCES READING_CONTEXT_ENUM (ID),
    CUSTOM_DATA TEXT,
    UNIQUE (TRANSACTION_ID, TIMESTAMP, READING_CONTEXT)
);

-- One row per SampledValueType of a meter value.
CREATE TABLE METER_VALUE_ITEMS (
    METER_VALUE_ID INTEGER REFERENCES METER_VALUES (ROWID),
    VALUE REAL NOT NULL,
    MEASURAND INTEGER REFERENCES MEASURAND_ENUM (ID),
    PHASE INTEGER REFERENCES PHASE_ENUM (ID),
    LOCATION INTEGER REFERENCES LOCATION_ENUM (ID),
    CUSTOM_DATA TEXT,
    UNIT_CUSTOM_DATA TEXT,
    UNIT_TEXT TEXT,
    UNIT_MULTIPLIER INT,
    SIGNED_METER_DATA TEXT,
    SIGNING_METHOD TEXT,
    ENCODING_METHOD TEXT,
    PUBLIC_KEY TEXT
);
