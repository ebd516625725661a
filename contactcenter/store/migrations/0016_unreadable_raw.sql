-- What a provider sent, byte for byte, when it could not be read as text (an email whose MIME
-- or charset nothing could make sense of): the JSON payload beside it says where it came from.
ALTER TABLE unreadable_payloads ADD COLUMN raw bytea;
