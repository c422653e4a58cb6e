-- Weekly A/B results of reply suggestions, aggregated from one row per chat.
-- The embedded DuckDB reads the raw CSV in place (paths are relative to the folder
-- holding site.yaml). On PostgreSQL or a warehouse, replace the first CTE's body
-- with the events table (SELECT * FROM chat_events): the rest runs unchanged.
WITH chats AS (
    SELECT * FROM read_csv('charters/agent-reply-suggestions/data/chats.csv')
),
weekly AS (
    -- Weeks run Monday to Sunday; a row is dated by the Sunday that ends its week.
    SELECT
        CAST(date_trunc('week', started_at) AS DATE) + 6 AS week_end,
        arm,
        handle_minutes,
        reopened,
        suggestion_used
    FROM chats
    WHERE started_at >= :since
)
SELECT
    week_end AS date,
    'handle_minutes' AS metric,
    arm AS variant,
    CAST(AVG(handle_minutes) AS DECIMAL(10, 2)) AS value,
    COUNT(*) AS n,
    CAST(STDDEV_SAMP(handle_minutes) AS DECIMAL(10, 2)) AS std
FROM weekly
GROUP BY week_end, arm
UNION ALL
SELECT week_end, 'reopen_rate', arm, CAST(100.0 * AVG(reopened) AS DECIMAL(10, 2)), COUNT(*), NULL
FROM weekly
GROUP BY week_end, arm
UNION ALL
SELECT week_end, 'suggestion_acceptance', arm, CAST(AVG(suggestion_used) AS DECIMAL(10, 3)),
    COUNT(*), NULL
FROM weekly
WHERE arm = 'treatment'
GROUP BY week_end, arm
