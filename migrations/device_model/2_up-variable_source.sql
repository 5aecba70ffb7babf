-- Schema version 2 (libocpp 2_up-variable_source): where a variable's value
-- comes from (e.g. 'OCPP'); NULL means the device model itself.
ALTER TABLE VARIABLE ADD COLUMN SOURCE TEXT;
