-- Every batch rewrites the balance, held and last_sequence of the accounts it touches, none of
-- which is indexed. With half of each page left free, PostgreSQL writes the new row version on
-- the same page (a HOT update) instead of adding an entry to every index of the table: about a
-- third of the backend CPU of those updates. Pages written before this migration keep their old
-- fill until they are rewritten.
ALTER TABLE account SET (fillfactor = 50);
