-- Why a lead was qualified or disqualified, in the words of whoever decided.
ALTER TABLE leads ADD COLUMN status_reason text NOT NULL DEFAULT '';
