-- The transaction running on each EVSE (at most one per EVSE, hence UNIQUE), so that after a
-- restart the station continues it with the next seqNo (E04.FR.04, "Sequence Number Generation").
-- TIME_START is milliseconds since the Unix epoch; ID_TAG_SENT is 0/1 (idToken already reported).
CREATE TABLE TRANSACTIONS (
    TRANSACTION_ID TEXT NOT NULL UNIQUE,
    EVSE_ID INT NOT NULL UNIQUE,
    CONNECTOR_ID INT NOT NULL,
    TIME_START INT64 NOT NULL,
    SEQ_NO INT NOT NULL,
    CHARGING_STATE TEXT NOT NULL,
    ID_TAG_SENT INT NOT NULL
);
