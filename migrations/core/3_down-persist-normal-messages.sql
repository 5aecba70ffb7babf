-- Undo 3_up (messages still queued there are dropped).
DROP TABLE NORMAL_QUEUE;
