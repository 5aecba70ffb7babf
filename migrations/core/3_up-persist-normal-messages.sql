-- Non-transaction messages that must not be lost across a restart either (for example a
-- SecurityEventNotification or a StatusNotification queued while offline). Same columns as
-- TRANSACTION_QUEUE.
CREATE TABLE NORMAL_QUEUE (
    UNIQUE_ID TEXT PRIMARY KEY NOT NULL,
    MESSAGE TEXT NOT NULL,
    MESSAGE_TYPE TEXT NOT NULL,
    MESSAGE_ATTEMPTS INT NOT NULL,
    MESSAGE_TIMESTAMP TEXT NOT NULL
);
