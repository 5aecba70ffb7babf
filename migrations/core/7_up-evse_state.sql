-- What one EVSE must remember across a crash or a power loss beyond libocpp's TRANSACTIONS row
-- (which keeps the running transaction's id, seqNo and chargingState): the whole transaction
-- state of block E, the simulated hardware's physical state (plug, lock, EV, meter register),
-- the TransactionEvents not yet acknowledged by the CsmsSession's durable queue, and the meter
-- values collected for TransactionEvent(Ended). One JSON document per EVSE, replaced whole
-- (storage/evse_repo.py). UPDATED_AT is an OCPP date-time, for people reading the file.
CREATE TABLE EVSE_STATE (
    EVSE_ID INT PRIMARY KEY NOT NULL,
    STATE_JSON TEXT NOT NULL,
    UPDATED_AT TEXT NOT NULL
);
