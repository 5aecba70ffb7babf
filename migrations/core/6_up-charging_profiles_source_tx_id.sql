-- Who installed a profile (ChargingLimitSourceEnumType: EMS, Other, SO, CSO; reported in
-- GetChargingProfiles, K09.FR.03) and, for TxProfiles, the transaction it belongs to (deleted
-- when that transaction stops, K02.FR.05). Existing profiles were set by the CSMS.
ALTER TABLE CHARGING_PROFILES ADD COLUMN CHARGING_LIMIT_SOURCE TEXT NOT NULL DEFAULT 'CSO';
ALTER TABLE CHARGING_PROFILES ADD COLUMN TRANSACTION_ID TEXT;
