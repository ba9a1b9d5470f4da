-- The RFM computation written by hand as one statement: the floor that
-- `rapport bench segments` compares the recompute with. Same method as the
-- recompute (cumulative quintiles, ties share the higher score, the label
-- grid of src/domain/rfm.rs, tiers by spend rank, lifetime value), written
-- the way one would at a psql prompt. psql variables: now, window_start,
-- key_pct, important_pct, ltv_factor_num, ltv_factor_den, and work_mem (the
-- recompute's own setting, so both sort and hash in the same memory).
DROP TABLE IF EXISTS bench_rfm_floor;
SET work_mem = :'work_mem';
\timing on
CREATE TABLE bench_rfm_floor AS
WITH totals AS (
    SELECT o.customer_id,
           MAX(o.ordered_at) AS last_order_at,
           COUNT(*) FILTER (WHERE o.ordered_at >= :'window_start') AS frequency,
           COALESCE(SUM(o.amount_minor) FILTER (WHERE o.ordered_at >= :'window_start'), 0) AS monetary,
           SUM(o.amount_minor) AS historical
    FROM customer_order o
    WHERE o.status = 'completed' AND o.ordered_at <= :'now'
    GROUP BY o.customer_id
), agg AS (
    SELECT t.* FROM totals t JOIN customer c ON c.id = t.customer_id AND c.deleted_at IS NULL
), scored AS (
    SELECT customer_id, last_order_at, frequency, monetary, historical, recency_days,
           (5 * COUNT(*) OVER (ORDER BY recency_days DESC) + COUNT(*) OVER () - 1) / COUNT(*) OVER () AS r,
           (5 * COUNT(*) OVER (ORDER BY frequency) + COUNT(*) OVER () - 1) / COUNT(*) OVER () AS f,
           (5 * COUNT(*) OVER (ORDER BY monetary) + COUNT(*) OVER () - 1) / COUNT(*) OVER () AS m,
           100 * (RANK() OVER (ORDER BY monetary DESC) - 1) / COUNT(*) OVER () AS richer_pct
    FROM (SELECT *, FLOOR(EXTRACT(EPOCH FROM (CAST(:'now' AS timestamptz) - last_order_at)) / 86400) AS recency_days
          FROM agg) a
), labelled AS (
    SELECT *, (f + m + 1) / 2 AS fm FROM scored
)
SELECT customer_id, last_order_at, frequency, monetary, historical, r, f, m,
       CASE
           WHEN r >= 4 AND fm >= 4 THEN 'champions'
           WHEN r >= 3 AND fm = 3 THEN 'loyal'
           WHEN r = 3 AND fm >= 4 THEN 'loyal'
           WHEN r >= 4 AND fm = 2 THEN 'potential_loyalist'
           WHEN r = 5 AND fm = 1 THEN 'new'
           WHEN r >= 3 AND fm = 1 THEN 'promising'
           WHEN r = 3 AND fm = 2 THEN 'need_attention'
           WHEN r = 2 AND fm <= 2 THEN 'about_to_sleep'
           WHEN r <= 2 AND fm = 3 THEN 'at_risk'
           WHEN r = 2 AND fm >= 4 THEN 'at_risk'
           WHEN r = 1 AND fm >= 4 THEN 'cannot_lose'
           WHEN r = 1 AND fm = 2 THEN 'hibernating'
           ELSE 'lost'
       END AS label,
       CASE WHEN richer_pct < :key_pct THEN 'key'
            WHEN richer_pct < :key_pct + :important_pct THEN 'important'
            ELSE 'general' END AS tier,
       historical + monetary * :ltv_factor_num / :ltv_factor_den AS lifetime_value
FROM labelled;
