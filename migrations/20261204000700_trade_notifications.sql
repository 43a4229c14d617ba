-- migrate:up
-- How far the trade notifier has read each market's fills (by engine sequence): it writes the
-- notifications of a market's new session-order fills and moves its cursor in one transaction,
-- so a fill is notified exactly once whatever crashes. Existing markets start at their newest
-- fill (history is not notified); a market added later starts at 0.
CREATE TABLE trade_notification_cursors (
    market_id text   PRIMARY KEY REFERENCES markets (id) ON DELETE CASCADE,
    last_seq  bigint NOT NULL CHECK (last_seq >= 0)
);

INSERT INTO trade_notification_cursors (market_id, last_seq)
SELECT m.id, COALESCE((SELECT max(f.seq) FROM fills f WHERE f.market_id = m.id), 0)
FROM markets m;

-- migrate:down
DROP TABLE trade_notification_cursors;
