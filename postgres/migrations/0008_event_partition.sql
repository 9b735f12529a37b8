-- The bus partition of each event: cairn.PartitionHash (a uint32, hence
-- bigint), so that a detect worker taking partition p of n over reads
-- back the events whose part % n = p (cairn.PartitionReader). No index:
-- the reads scan events_time and filter by part, and the write path stays
-- as it was. Events stored before this migration keep part NULL and are
-- not read back by ScanPartition or LatestPartitionTime.
ALTER TABLE events ADD COLUMN part bigint;
