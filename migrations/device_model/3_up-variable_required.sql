-- Schema version 3 (libocpp 3_up-variable_required): whether a variable is
-- required is a property of the component config, checked when it is
-- loaded, not something to keep in the database.
ALTER TABLE VARIABLE DROP COLUMN REQUIRED;
