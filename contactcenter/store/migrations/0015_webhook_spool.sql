-- A webhook that arrived while PostgreSQL could not be reached waits in the node's local spool
-- (contactcenter/spool.py) and is moved here once it answers. Its spool id makes the move
-- happen once, even when the node stops between the insert and the spool's truncation.
ALTER TABLE webhook_inbox ADD COLUMN spool_id text UNIQUE;
