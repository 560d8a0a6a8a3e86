#include "storage/identity.hpp"

#include <pqxx/pqxx>

namespace tributary::storage {
namespace {

constexpr const char* kStaging = R"sql(
CREATE TEMP TABLE IF NOT EXISTS stage_identity_inserted (
    tenant_id TEXT, event_id TEXT, user_id TEXT, event_type TEXT, event_time TIMESTAMPTZ,
    extra JSONB
) ON COMMIT DELETE ROWS;
)sql";

constexpr const char* kCondition =
    "(extra IS NOT NULL AND (extra ? 'anonymous_id' OR (event_type = 'identify' AND extra ? "
    "'traits') OR (event_type = 'alias' AND extra ? 'previous_id')))";

// Within the batch, the latest identify per (user, key) is chosen first (an upsert may touch a
// row once per statement); the stored value is replaced only by a later (set_at, event_id).
// jsonb_each gets '{}' for non-object traits: the CASE keeps it from ever seeing one, whatever
// order the planner evaluates the conditions in. Byte order ("C") for event_id ties, as in
// the migration's backfill.
constexpr const char* kMerge = R"sql(
INSERT INTO analytics_user_traits AS t (tenant_id, user_id, trait, value, set_at, event_id)
SELECT DISTINCT ON (s.tenant_id, s.user_id, k.key) s.tenant_id, s.user_id, k.key, k.value,
       s.event_time, s.event_id
FROM stage_identity_inserted s
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(s.extra -> 'traits') = 'object'
                                   THEN s.extra -> 'traits' ELSE '{}'::jsonb END) k
WHERE s.event_type = 'identify' AND char_length(k.key) <= 256
ORDER BY s.tenant_id, s.user_id, k.key, s.event_time DESC, s.event_id COLLATE "C" DESC
ON CONFLICT (tenant_id, user_id, trait) DO UPDATE SET
    value = EXCLUDED.value, set_at = EXCLUDED.set_at, event_id = EXCLUDED.event_id
WHERE (EXCLUDED.set_at, EXCLUDED.event_id COLLATE "C") > (t.set_at, t.event_id COLLATE "C");

INSERT INTO analytics_identity_links AS l (tenant_id, anonymous_id, user_id, linked_at)
SELECT tenant_id, anonymous_id, user_id, min(event_time)
FROM (SELECT tenant_id, extra ->> 'anonymous_id' AS anonymous_id, user_id, event_time
      FROM stage_identity_inserted WHERE jsonb_typeof(extra -> 'anonymous_id') = 'string'
      UNION ALL
      SELECT tenant_id, extra ->> 'previous_id', user_id, event_time
      FROM stage_identity_inserted
      WHERE event_type = 'alias' AND jsonb_typeof(extra -> 'previous_id') = 'string') x
WHERE anonymous_id <> user_id AND anonymous_id <> '' AND char_length(anonymous_id) <= 128
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (tenant_id, anonymous_id, user_id) DO UPDATE SET linked_at = EXCLUDED.linked_at
WHERE EXCLUDED.linked_at < l.linked_at;
)sql";

}  // namespace

const char* IdentityStagingSql() { return kStaging; }

const char* IdentityRowCondition() { return kCondition; }

void MergeIdentity(pqxx::work& txn) { txn.exec(kMerge); }

}  // namespace tributary::storage
