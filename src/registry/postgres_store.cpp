// The scale-out Store: PostgreSQL through libpqxx 6, shared by many `simkyc serve` processes on
// many machines.  See store.h for the contracts; each method mirrors its SQLite twin in
// sqlite_store.cpp (same SQL with $n placeholders, same audit entries), so a new Store method is
// written twice in the same shape.
//
// Concurrency (across processes and machines; no in-process lock guards data).  Every method is
// one READ COMMITTED transaction; what must not interleave is serialised by the database:
//  - the audit chain: the next entry reads the chain head with SELECT ... FOR UPDATE, so appends
//    queue on that one row and each sees the previous committer's head (a waiter re-reads the
//    row it waited for).  The head is locked last in every transaction, so its lock is held
//    only for the end of a transaction.
//  - the number limit: register_number takes a transaction-level advisory lock on
//    (operator, id hash) before counting, so the count and the insert are atomic per subject;
//    a unique index stops the same number being registered twice by different subjects.
//  - a session's decision and a review's resolution: the row is read FOR UPDATE.
// Serialization failures and deadlocks (SQLSTATE 40001, 40P01) are retried with a fresh
// transaction; a lost connection is dropped from the pool and the call retried once on a new one.
//
// Errors inside are thrown (DbFail, pqxx exceptions) and converted to Error at each public method:
// no exception leaves this file.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "registry/crypto.h"
#include "registry/detail_audit.h"
#include "registry/store.h"

namespace simkyc {
namespace {

constexpr std::size_t kDefaultPoolSize = 16;
constexpr std::size_t kMaxPoolSize = 256;
constexpr int kMaxAttempts = 8;            // serialization failures / deadlocks
constexpr int kMaxReconnects = 1;          // a lost connection: one retry on a new connection
constexpr int kMaxAuditPage = 1000;
constexpr int kVerifyBatch = 5000;
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kFailureRetentionSeconds = kDay;
// pg_advisory_xact_lock key that serialises schema migrations of concurrent openers.
constexpr std::int64_t kMigrationLockKey = 0x73696d6b7963;   // "simkyc"
// Connection settings simkyc adds to a URL that does not set them (libpq URI parameters).
constexpr const char* kUrlDefaults[][2] = {
    {"connect_timeout", "5"},     {"keepalives", "1"}, {"keepalives_idle", "10"},
    {"keepalives_interval", "5"}, {"keepalives_count", "3"}, {"application_name", "simkyc"},
};

struct DbFail {
  Error error;
};

[[noreturn]] void fail(Reason r, std::string detail) { throw DbFail{make_error(r, std::move(detail))}; }

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void require(bool cond, const char* what) {
  if (!cond) fail(Reason::kBadRequest, what);
}

// ---- the URL ---------------------------------------------------------------------------------

struct PgSettings {
  std::string conninfo;     // what libpq gets
  std::size_t pool_size = kDefaultPoolSize;
};

// Splits off simkyc's own `pool_size=N` parameter and adds the defaults above.
PgSettings parse_url(const std::string& url) {
  PgSettings out;
  const auto q = url.find('?');
  std::string base = url.substr(0, q);
  std::vector<std::string> params;
  if (q != std::string::npos) {
    std::string rest = url.substr(q + 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
      const auto amp = rest.find('&', start);
      std::string p = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      if (!p.empty()) params.push_back(std::move(p));
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  std::string query;
  auto has = [&](std::string_view key) {
    return std::any_of(params.begin(), params.end(), [&](const std::string& p) {
      return p.size() > key.size() && p.compare(0, key.size(), key) == 0 && p[key.size()] == '=';
    });
  };
  for (const auto& p : params) {
    if (p.rfind("pool_size=", 0) == 0) {
      const std::string v = p.substr(10);
      std::size_t n = 0;
      if (v.empty() || v.size() > 4 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          (n = std::stoul(v)) < 1 || n > kMaxPoolSize)
        fail(Reason::kConfigError, "pool_size must be 1.." + std::to_string(kMaxPoolSize));
      out.pool_size = n;
      continue;
    }
    query += (query.empty() ? "" : "&") + p;
  }
  for (const auto& d : kUrlDefaults)
    if (!has(d[0])) query += (query.empty() ? "" : "&") + std::string(d[0]) + "=" + d[1];
  out.conninfo = base + "?" + query;
  return out;
}

// ---- connections -----------------------------------------------------------------------------

std::unique_ptr<pqxx::connection> connect(const std::string& conninfo) {
  auto c = std::make_unique<pqxx::connection>(conninfo);
  // Quiet notices ("relation already exists, skipping"); bound every statement's time, so a stuck
  // lock shows up as an error rather than a hung request.
  pqxx::nontransaction n(*c);
  n.exec("SET client_min_messages = warning; SET statement_timeout = '60s'; SET lock_timeout = '30s'; "
         "SET idle_in_transaction_session_timeout = '120s'");
  return c;
}

class Pool {
 public:
  Pool(std::string conninfo, std::size_t max) : conninfo_(std::move(conninfo)), max_(max) {}

  class Lease {
   public:
    Lease(Pool& p, std::unique_ptr<pqxx::connection> c) : p_(p), c_(std::move(c)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { p_.release(std::move(c_), broken_); }
    pqxx::connection& operator*() { return *c_; }
    void mark_broken() { broken_ = true; }

   private:
    Pool& p_;
    std::unique_ptr<pqxx::connection> c_;
    bool broken_ = false;
  };

  // Leases a connection into `out`: an idle one, or a new one while fewer than the pool size are
  // open (else waits for one).  Throws pqxx::broken_connection when a new one cannot connect.
  void acquire(std::optional<Lease>& out) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      out.emplace(*this, std::move(c));
      return;
    }
    ++open_;
    lock.unlock();
    std::unique_ptr<pqxx::connection> c;
    try {
      c = connect(conninfo_);
    } catch (...) {
      std::lock_guard g(m_);
      --open_;
      cv_.notify_one();
      throw;
    }
    out.emplace(*this, std::move(c));
  }

  // Drops every idle connection (after the server went away they are all dead).
  void drop_idle() {
    std::lock_guard g(m_);
    open_ -= idle_.size();
    idle_.clear();
    cv_.notify_all();
  }

  void add(std::unique_ptr<pqxx::connection> c) {
    std::lock_guard g(m_);
    ++open_;
    idle_.push_back(std::move(c));
  }

 private:
  void release(std::unique_ptr<pqxx::connection> c, bool broken) {
    std::lock_guard g(m_);
    if (c && !broken && c->is_open()) idle_.push_back(std::move(c));
    else --open_;
    cv_.notify_one();
  }

  std::string conninfo_;
  std::size_t max_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;
};

bool retryable(const pqxx::sql_error& e) {
  const std::string& s = e.sqlstate();
  return s == "40001" || s == "40P01";
}

void backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const int cap_ms = std::min(5 << attempt, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1 + static_cast<int>(rng() % static_cast<unsigned>(cap_ms))));
}

std::string unreachable(const std::exception& e) {
  std::string m = e.what();
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return "database unreachable: " + m;
}

// Runs body(tx) in one transaction of type Tx and commits; retries as described at the top.
// body may run more than once: it must not change anything outside the transaction.
template <class Tx, class F>
auto run_tx(Pool& pool, F&& body) -> decltype(body(std::declval<pqxx::transaction_base&>())) {
  int reconnects = 0;
  for (int attempt = 0;; ++attempt) {
    std::optional<Pool::Lease> lease;
    try {
      pool.acquire(lease);
    } catch (const pqxx::broken_connection& e) {
      fail(Reason::kStoreUnavailable, unreachable(e));
    }
    try {
      Tx tx(**lease);
      if constexpr (std::is_void_v<decltype(body(tx))>) {
        body(tx);
        tx.commit();
        return;
      } else {
        auto out = body(tx);
        tx.commit();
        return out;
      }
    } catch (const pqxx::in_doubt_error& e) {
      lease->mark_broken();
      fail(Reason::kStoreUnavailable, std::string("the connection was lost during commit; the change may or may not "
                                                   "have been saved: ") + e.what());
    } catch (const pqxx::broken_connection& e) {
      lease->mark_broken();
      lease.reset();
      pool.drop_idle();
      if (reconnects++ >= kMaxReconnects) fail(Reason::kStoreUnavailable, unreachable(e));
    } catch (const pqxx::serialization_failure&) {   // 40001
      if (attempt + 1 >= kMaxAttempts) throw;
      lease.reset();
      backoff(attempt);
    } catch (const pqxx::deadlock_detected&) {       // 40P01
      if (attempt + 1 >= kMaxAttempts) throw;
      lease.reset();
      backoff(attempt);
    } catch (const pqxx::sql_error& e) {
      if (!retryable(e) || attempt + 1 >= kMaxAttempts) throw;
      lease.reset();
      backoff(attempt);
    }
  }
}

template <class F>
auto guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const DbFail& e) {
    return e.error;
  } catch (const pqxx::broken_connection& e) {
    return make_error(Reason::kStoreUnavailable, unreachable(e));
  } catch (const pqxx::transaction_rollback& e) {
    return make_error(Reason::kStoreError, std::string("PostgreSQL rolled the transaction back: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    std::string m = e.what();
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return make_error(Reason::kStoreError, "PostgreSQL " + e.sqlstate() + ": " + m);
  } catch (const std::exception& e) {
    return make_error(Reason::kStoreError, e.what());
  }
}

// ---- parameters and rows ---------------------------------------------------------------------

pqxx::binarystring bytes(const std::vector<std::uint8_t>& v) {
  // An empty bytea, not NULL, for an empty vector (as the SQLite store writes a zero-length blob).
  static const char kEmpty = 0;
  return v.empty() ? pqxx::binarystring(&kEmpty, 0) : pqxx::binarystring(v.data(), v.size());
}

std::string text(const pqxx::row& r, int col) { return r[col].is_null() ? std::string() : r[col].as<std::string>(); }
std::int64_t i64(const pqxx::row& r, int col) { return r[col].is_null() ? 0 : r[col].as<std::int64_t>(); }
double dbl(const pqxx::row& r, int col) { return r[col].is_null() ? 0.0 : r[col].as<double>(); }
std::optional<std::int64_t> opt_i64(const pqxx::row& r, int col) {
  return r[col].is_null() ? std::nullopt : std::optional<std::int64_t>(r[col].as<std::int64_t>());
}
std::optional<double> opt_dbl(const pqxx::row& r, int col) {
  return r[col].is_null() ? std::nullopt : std::optional<double>(r[col].as<double>());
}
std::vector<std::uint8_t> blob(const pqxx::row& r, int col) {
  if (r[col].is_null()) return {};
  const pqxx::binarystring b(r[col]);
  return std::vector<std::uint8_t>(b.data(), b.data() + b.size());
}

// ---- schema ----------------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;
};

// The same versions as the SQLite store's kMigrations (version N here is version N there).
// Append new migrations at the end; never edit a released one.
const Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  operator_id TEXT NOT NULL,
  role TEXT NOT NULL,
  created BIGINT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  device_id TEXT NOT NULL DEFAULT '',
  nonce TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  challenge_json TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'open',
  consent_at BIGINT,
  consent_version TEXT NOT NULL DEFAULT '',
  id_hash TEXT NOT NULL DEFAULT '',
  id_sealed BYTEA,
  document_json TEXT NOT NULL DEFAULT '',
  template_sealed BYTEA,
  decision TEXT NOT NULL DEFAULT '',
  reasons_json TEXT NOT NULL DEFAULT '',
  score DOUBLE PRECISION,
  threshold DOUBLE PRECISION NOT NULL DEFAULT 0,
  fmr DOUBLE PRECISION NOT NULL DEFAULT 0,
  model TEXT NOT NULL DEFAULT '',
  decided_at BIGINT
);
CREATE INDEX sessions_subject ON sessions(operator_id, id_hash);
CREATE INDEX sessions_created ON sessions(created);
CREATE TABLE registrations (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL,
  id_hash TEXT NOT NULL,
  number_hash TEXT NOT NULL,
  number_sealed BYTEA,
  session_id TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX registrations_active_number ON registrations(operator_id, number_hash) WHERE active = 1;
CREATE INDEX registrations_subject ON registrations(operator_id, id_hash, active);
CREATE INDEX registrations_session ON registrations(session_id);
CREATE TABLE reviews (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open',
  resolution TEXT NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  resolved_by TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  resolved_at BIGINT
);
CREATE INDEX reviews_queue ON reviews(operator_id, status, created);
CREATE INDEX reviews_session ON reviews(session_id);
CREATE TABLE failures (
  scope TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX failures_scope_at ON failures(scope, at);
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  ts BIGINT NOT NULL,
  operator_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_operator ON audit(operator_id, seq);
-- The last appended entry, so that entries removed from the end of the log are noticed too.
-- Its row lock (SELECT ... FOR UPDATE) is what queues concurrent appends.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql"},
    // Issue 14: each operator's own gap-free sequence and hash chain (see store.h, AuditEntry).
    // Entries from before keep their operator sequence numbers but have no operator hash.
    {2, R"sql(
ALTER TABLE audit ADD COLUMN op_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN op_prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN op_hash TEXT NOT NULL DEFAULT '';
UPDATE audit SET op_seq = (SELECT COUNT(*) FROM audit a WHERE a.operator_id = audit.operator_id AND a.seq <= audit.seq);
CREATE INDEX audit_operator_seq ON audit(operator_id, op_seq);
)sql"},
};

void migrate(pqxx::connection& c) {
  pqxx::work tx(c);
  // Several instances may start at once against a new database: one migrates, the others wait
  // here and then find nothing left to do.
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
  tx.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
  const auto cur = tx.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  const std::int64_t current = cur.empty() ? 0 : cur[0][0].as<std::int64_t>();
  const int latest = std::end(kMigrations)[-1].version;
  if (current > latest)
    fail(Reason::kStoreError, "the database schema (version " + std::to_string(current) +
                                  ") is newer than this simkyc understands (" + std::to_string(latest) + ")");
  for (const auto& m : kMigrations) {
    if (m.version <= current) continue;
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", m.version, now_seconds());
  }
  tx.commit();
}

// ---- row mapping (the column lists are the SQLite store's) -------------------------------------

constexpr const char* kSessionCols =
    "id, operator_id, channel, device_id, nonce, created, expires, challenge_json, state, consent_at, "
    "consent_version, id_hash, id_sealed, document_json, template_sealed, decision, reasons_json, score, "
    "threshold, fmr, model, decided_at";

SessionRecord read_session(const pqxx::row& r) {
  SessionRecord s;
  s.id = text(r, 0);
  s.operator_id = text(r, 1);
  s.channel = text(r, 2);
  s.device_id = text(r, 3);
  s.nonce = text(r, 4);
  s.created = i64(r, 5);
  s.expires = i64(r, 6);
  s.challenge_json = text(r, 7);
  s.state = text(r, 8);
  s.consent_at = opt_i64(r, 9);
  s.consent_version = text(r, 10);
  s.id_hash = text(r, 11);
  s.id_sealed = blob(r, 12);
  s.document_json = text(r, 13);
  s.template_sealed = blob(r, 14);
  s.decision = text(r, 15);
  s.reasons_json = text(r, 16);
  s.score = opt_dbl(r, 17);
  s.threshold = dbl(r, 18);
  s.fmr = dbl(r, 19);
  s.model = text(r, 20);
  s.decided_at = opt_i64(r, 21);
  return s;
}

constexpr const char* kRegistrationCols =
    "id, operator_id, id_hash, number_hash, number_sealed, session_id, created, active";

RegistrationRecord read_registration(const pqxx::row& row) {
  RegistrationRecord r;
  r.id = text(row, 0);
  r.operator_id = text(row, 1);
  r.id_hash = text(row, 2);
  r.number_hash = text(row, 3);
  r.number_sealed = blob(row, 4);
  r.session_id = text(row, 5);
  r.created = i64(row, 6);
  r.active = i64(row, 7) != 0;
  return r;
}

constexpr const char* kReviewCols =
    "id, operator_id, session_id, status, resolution, comment, resolved_by, created, resolved_at";

ReviewRecord read_review(const pqxx::row& row) {
  ReviewRecord r;
  r.id = text(row, 0);
  r.operator_id = text(row, 1);
  r.session_id = text(row, 2);
  r.status = text(row, 3);
  r.resolution = text(row, 4);
  r.comment = text(row, 5);
  r.resolved_by = text(row, 6);
  r.created = i64(row, 7);
  r.resolved_at = opt_i64(row, 8);
  return r;
}

constexpr const char* kAuditCols =
    "seq, ts, operator_id, actor, action, subject, details_json, prev_hash, hash, op_seq, op_prev_hash, op_hash";

AuditEntry read_audit(const pqxx::row& r) {
  AuditEntry e;
  e.seq = i64(r, 0);
  e.ts = i64(r, 1);
  e.operator_id = text(r, 2);
  e.actor = text(r, 3);
  e.action = text(r, 4);
  e.subject = text(r, 5);
  e.details_json = text(r, 6);
  e.prev_hash = text(r, 7);
  e.hash = text(r, 8);
  e.op_seq = i64(r, 9);
  e.op_prev_hash = text(r, 10);
  e.op_hash = text(r, 11);
  return e;
}

std::string sql(const char* head, const char* cols, const char* tail) {
  return std::string(head) + cols + tail;
}

using Tx = pqxx::transaction_base;

// Appends an audit entry inside the caller's transaction: locks the chain head (queueing behind
// any other appender until it commits), links to it, and moves it.  Call it last in a transaction.
AuditEntry append_audit_tx(Tx& tx, AuditEntry e) {
  {
    const auto head = tx.exec("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE");
    if (head.empty()) fail(Reason::kStoreError, "audit_head row is missing");
    e.seq = i64(head[0], 0) + 1;
    e.prev_hash = text(head[0], 1);
  }
  if (e.ts == 0) e.ts = now_seconds();
  if (e.details_json.empty()) e.details_json = "{}";
  e.hash = registry_detail::audit_entry_hash(e.prev_hash, e);
  // The operator's chain: its last entry.  The head's row lock above queues every appender, and
  // this statement (READ COMMITTED) sees what the one before committed.
  e.op_seq = 1;
  e.op_prev_hash = registry_detail::kGenesisHash;
  {
    const auto last = tx.exec_params("SELECT op_seq, op_hash FROM audit WHERE operator_id = $1 ORDER BY seq DESC LIMIT 1",
                                     e.operator_id);
    if (!last.empty()) {
      e.op_seq = i64(last[0], 0) + 1;
      if (!text(last[0], 1).empty()) e.op_prev_hash = text(last[0], 1);
    }
  }
  e.op_hash = registry_detail::audit_operator_hash(e.op_prev_hash, e);
  tx.exec_params("INSERT INTO audit (seq, ts, operator_id, actor, action, subject, details_json, prev_hash, hash, "
                 "op_seq, op_prev_hash, op_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                 e.seq, e.ts, e.operator_id, e.actor, e.action, e.subject, e.details_json, e.prev_hash, e.hash,
                 e.op_seq, e.op_prev_hash, e.op_hash);
  tx.exec_params("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", e.seq, e.hash);
  return e;
}

AuditEntry audit(std::string operator_id, std::string actor, std::string action, std::string subject,
                 const nlohmann::json& details) {
  AuditEntry e;
  e.operator_id = std::move(operator_id);
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.subject = std::move(subject);
  e.details_json = dump(details);
  return e;
}

// Serialises, until the transaction ends, every transaction that changes one subject's
// registrations at one operator (across all processes sharing the database).
void lock_subject(Tx& tx, const std::string& operator_id, const std::string& id_hash) {
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                 "registrations\n" + operator_id + "\n" + id_hash);
}

bool is_unique_violation(const pqxx::sql_error& e) { return e.sqlstate() == "23505"; }

// ---- the store ---------------------------------------------------------------------------------

using WriteTx = pqxx::work;                                                  // READ COMMITTED
using SnapshotTx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;   // one snapshot

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const PgSettings& s) : pool_(s.conninfo, s.pool_size) {}
  Pool& pool() { return pool_; }

  template <class F>
  auto write(F&& body) { return run_tx<WriteTx>(pool_, std::forward<F>(body)); }
  template <class F>
  auto read(F&& body) { return run_tx<pqxx::read_transaction>(pool_, std::forward<F>(body)); }

  Status add_key(const ApiKeyRecord& key, const std::string& actor) override {
    return guard([&]() -> Status {
      require(!key.key_id.empty() && !key.secret_hash.empty() && !key.operator_id.empty(),
              "key id, secret hash and operator are required");
      const std::int64_t created = key.created ? key.created : now_seconds();
      write([&](Tx& tx) {
        try {
          tx.exec_params("INSERT INTO api_keys (key_id, secret_hash, operator_id, role, created, revoked) "
                         "VALUES ($1, $2, $3, $4, $5, $6)",
                         key.key_id, key.secret_hash, key.operator_id, std::string(to_string(key.role)), created,
                         key.revoked ? 1 : 0);
        } catch (const pqxx::sql_error& e) {
          if (is_unique_violation(e)) fail(Reason::kStoreError, "a key with this id already exists");
          throw;
        }
        append_audit_tx(tx, audit(key.operator_id, actor, "key.create", key.key_id,
                                  {{"role", to_string(key.role)}}));
      });
      return ok_status();
    });
  }

  Result<std::optional<ApiKeyRecord>> find_key(const std::string& key_id) override {
    return guard([&]() -> Result<std::optional<ApiKeyRecord>> {
      return read([&](Tx& tx) -> std::optional<ApiKeyRecord> {
        const auto res = tx.exec_params(
            "SELECT key_id, secret_hash, operator_id, role, created, revoked FROM api_keys WHERE key_id = $1", key_id);
        if (res.empty()) return std::nullopt;
        const auto& r = res[0];
        ApiKeyRecord k;
        k.key_id = text(r, 0);
        k.secret_hash = text(r, 1);
        k.operator_id = text(r, 2);
        const auto role = role_from_string(text(r, 3));
        if (!role) fail(Reason::kStoreError, "key has an unknown role");
        k.role = *role;
        k.created = i64(r, 4);
        k.revoked = i64(r, 5) != 0;
        return k;
      });
    });
  }

  Status revoke_key(const std::string& key_id, const std::string& actor) override {
    return guard([&]() -> Status {
      write([&](Tx& tx) {
        const auto res = tx.exec_params("SELECT operator_id, revoked FROM api_keys WHERE key_id = $1 FOR UPDATE", key_id);
        if (res.empty()) fail(Reason::kNotFound, "no such key");
        if (i64(res[0], 1) == 0) {   // revoking twice is not an error, and not a second change
          tx.exec_params("UPDATE api_keys SET revoked = 1 WHERE key_id = $1", key_id);
          append_audit_tx(tx, audit(text(res[0], 0), actor, "key.revoke", key_id, nlohmann::json::object()));
        }
      });
      return ok_status();
    });
  }

  Status create_session(const SessionRecord& s) override {
    return guard([&]() -> Status {
      require(!s.id.empty() && !s.operator_id.empty(), "session id and operator are required");
      write([&](Tx& tx) {
        try {
          tx.exec_params("INSERT INTO sessions (id, operator_id, channel, device_id, nonce, created, expires, "
                         "challenge_json, state, consent_at, consent_version, document_json) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                         s.id, s.operator_id, s.channel, s.device_id, s.nonce, s.created ? s.created : now_seconds(),
                         s.expires, s.challenge_json, s.state.empty() ? std::string("open") : s.state, s.consent_at,
                         s.consent_version, s.document_json);
        } catch (const pqxx::sql_error& e) {
          if (is_unique_violation(e)) fail(Reason::kStoreError, "a session with this id already exists");
          throw;
        }
      });
      return ok_status();
    });
  }

  Result<std::optional<SessionRecord>> get_session(const std::string& operator_id, const std::string& id) override {
    return guard([&]() -> Result<std::optional<SessionRecord>> {
      return read([&](Tx& tx) -> std::optional<SessionRecord> {
        const auto res = tx.exec_params(sql("SELECT ", kSessionCols, " FROM sessions WHERE id = $1 AND operator_id = $2"),
                                        id, operator_id);
        if (res.empty()) return std::nullopt;
        return read_session(res[0]);
      });
    });
  }

  Status record_consent(const std::string& operator_id, const std::string& session_id, const std::string& version,
                        std::int64_t at, const std::string& actor) override {
    return guard([&]() -> Status {
      write([&](Tx& tx) {
        const auto cur = tx.exec_params("SELECT consent_at FROM sessions WHERE id = $1 AND operator_id = $2 FOR UPDATE",
                                        session_id, operator_id);
        if (cur.empty()) fail(Reason::kNotFound, "no such session");
        if (!cur[0][0].is_null()) return;   // already recorded: idempotent, no second entry
        tx.exec_params("UPDATE sessions SET consent_at = $1, consent_version = $2 WHERE id = $3 AND operator_id = $4",
                       at, version, session_id, operator_id);
        append_audit_tx(tx, audit(operator_id, actor, "consent", session_id, {{"version", version}, {"at", at}}));
      });
      return ok_status();
    });
  }

  Status save_document(const SessionRecord& s) override {
    return guard([&]() -> Status {
      write([&](Tx& tx) {
        check_open_session(tx, s.operator_id, s.id);
        tx.exec_params("UPDATE sessions SET id_hash = $1, id_sealed = $2, document_json = $3, template_sealed = $4 "
                       "WHERE id = $5 AND operator_id = $6",
                       s.id_hash, bytes(s.id_sealed), s.document_json, bytes(s.template_sealed), s.id, s.operator_id);
      });
      return ok_status();
    });
  }

  Status save_decision(const SessionRecord& s, const std::string& actor) override {
    return guard([&]() -> Status {
      require(s.decision == "PASS" || s.decision == "REVIEW" || s.decision == "FAIL",
              "decision must be PASS, REVIEW or FAIL");
      const std::int64_t at = s.decided_at ? *s.decided_at : now_seconds();
      nlohmann::json details = {{"decision", s.decision}, {"threshold", s.threshold}, {"fmr", s.fmr},
                                {"model", s.model}};
      auto reasons = nlohmann::json::parse(s.reasons_json, nullptr, /*allow_exceptions=*/false);
      details["reasons"] = reasons.is_discarded() ? nlohmann::json::array() : reasons;
      details["score"] = s.score ? nlohmann::json(*s.score) : nlohmann::json(nullptr);
      if (!s.live_capture.empty()) details["live_capture"] = s.live_capture;
      const std::string review_id = s.decision == "REVIEW" ? "rv_" + random_hex(12) : std::string();
      if (!review_id.empty()) details["review_id"] = review_id;
      write([&](Tx& tx) {
        check_open_session(tx, s.operator_id, s.id);
        tx.exec_params("UPDATE sessions SET state = 'decided', decision = $1, reasons_json = $2, score = $3, "
                       "threshold = $4, fmr = $5, model = $6, decided_at = $7, template_sealed = $8 "
                       "WHERE id = $9 AND operator_id = $10",
                       s.decision, s.reasons_json, s.score, s.threshold, s.fmr, s.model, at, bytes(s.template_sealed),
                       s.id, s.operator_id);
        if (!review_id.empty())
          tx.exec_params("INSERT INTO reviews (id, operator_id, session_id, status, created) "
                         "VALUES ($1, $2, $3, 'open', $4)",
                         review_id, s.operator_id, s.id, at);
        append_audit_tx(tx, audit(s.operator_id, actor, "decision", s.id, details));
      });
      return ok_status();
    });
  }

  Result<RegistrationRecord> register_number(const RegistrationRecord& r, int limit,
                                             const std::string& actor) override {
    return guard([&]() -> Result<RegistrationRecord> {
      require(!r.operator_id.empty() && !r.id_hash.empty() && !r.number_hash.empty(),
              "operator, id hash and number hash are required");
      RegistrationRecord out = r;
      if (out.id.empty()) out.id = "rg_" + random_hex(12);
      if (out.created == 0) out.created = now_seconds();
      out.active = true;
      write([&](Tx& tx) {
        lock_subject(tx, r.operator_id, r.id_hash);
        // READ COMMITTED: these statements run after the lock was granted, so they see every
        // registration committed by the transaction that held it before.
        if (!tx.exec_params("SELECT 1 FROM registrations WHERE operator_id = $1 AND number_hash = $2 AND active = 1",
                            r.operator_id, r.number_hash)
                 .empty())
          fail(Reason::kNumberAlreadyRegistered, "");
        const std::int64_t active =
            i64(tx.exec_params("SELECT COUNT(*) FROM registrations WHERE operator_id = $1 AND id_hash = $2 AND active = 1",
                               r.operator_id, r.id_hash)[0],
                0);
        if (active >= limit)
          fail(Reason::kNumberLimitReached, std::to_string(active) + " of " + std::to_string(limit) + " in use");
        try {
          tx.exec_params(sql("INSERT INTO registrations (", kRegistrationCols,
                             ") VALUES ($1, $2, $3, $4, $5, $6, $7, 1)"),
                         out.id, out.operator_id, out.id_hash, out.number_hash, bytes(out.number_sealed),
                         out.session_id, out.created);
        } catch (const pqxx::sql_error& e) {
          if (is_unique_violation(e)) fail(Reason::kNumberAlreadyRegistered, "");
          throw;
        }
        append_audit_tx(tx, audit(r.operator_id, actor, "registration", out.id,
                                  {{"session_id", out.session_id}, {"active", active + 1}, {"limit", limit}}));
      });
      return out;
    });
  }

  Result<std::vector<RegistrationRecord>> list_registrations(const std::string& operator_id,
                                                             const std::string& id_hash) override {
    return guard([&]() -> Result<std::vector<RegistrationRecord>> {
      return read([&](Tx& tx) {
        std::vector<RegistrationRecord> out;
        for (const auto& row : tx.exec_params(sql("SELECT ", kRegistrationCols,
                                                  " FROM registrations WHERE operator_id = $1 AND id_hash = $2 "
                                                  "ORDER BY created, id"),
                                              operator_id, id_hash))
          out.push_back(read_registration(row));
        return out;
      });
    });
  }

  Result<std::optional<RegistrationRecord>> find_registration_by_number(const std::string& operator_id,
                                                                        const std::string& number_hash) override {
    return guard([&]() -> Result<std::optional<RegistrationRecord>> {
      return read([&](Tx& tx) -> std::optional<RegistrationRecord> {
        const auto res = tx.exec_params(sql("SELECT ", kRegistrationCols,
                                            " FROM registrations WHERE operator_id = $1 AND number_hash = $2 "
                                            "ORDER BY active DESC, created DESC LIMIT 1"),
                                        operator_id, number_hash);
        if (res.empty()) return std::nullopt;
        return read_registration(res[0]);
      });
    });
  }

  Result<RegistrationRecord> release_registration(const std::string& operator_id, const std::string& registration_id,
                                                  const std::string& actor, std::int64_t at) override {
    return guard([&]() -> Result<RegistrationRecord> {
      return write([&](Tx& tx) -> RegistrationRecord {
        const auto res = tx.exec_params(sql("SELECT ", kRegistrationCols,
                                            " FROM registrations WHERE id = $1 AND operator_id = $2 AND active = 1 "
                                            "FOR UPDATE"),
                                        registration_id, operator_id);
        if (res.empty()) fail(Reason::kNotFound, "no active registration with this id");
        RegistrationRecord r = read_registration(res[0]);
        tx.exec_params("UPDATE registrations SET active = 0 WHERE id = $1 AND operator_id = $2", registration_id,
                       operator_id);
        r.active = false;
        AuditEntry e = audit(operator_id, actor, "registration.release", r.id, {{"session_id", r.session_id}});
        e.ts = at;
        append_audit_tx(tx, e);
        return r;
      });
    });
  }

  Result<std::vector<ReviewRecord>> list_reviews(const std::string& operator_id, const std::string& status) override {
    return guard([&]() -> Result<std::vector<ReviewRecord>> {
      return read([&](Tx& tx) {
        std::vector<ReviewRecord> out;
        for (const auto& row : tx.exec_params(sql("SELECT ", kReviewCols,
                                                  " FROM reviews WHERE operator_id = $1 AND ($2::text = '' OR "
                                                  "status = $2::text) ORDER BY created, id"),
                                              operator_id, status))
          out.push_back(read_review(row));
        return out;
      });
    });
  }

  Result<ReviewRecord> resolve_review(const std::string& operator_id, const std::string& review_id,
                                      const std::string& resolution, const std::string& comment,
                                      const std::string& actor, std::int64_t at) override {
    return guard([&]() -> Result<ReviewRecord> {
      require(resolution == "PASS" || resolution == "FAIL", "resolution must be PASS or FAIL");
      return write([&](Tx& tx) {
        const auto res = tx.exec_params(
            sql("SELECT ", kReviewCols, " FROM reviews WHERE id = $1 AND operator_id = $2 FOR UPDATE"), review_id,
            operator_id);
        if (res.empty()) fail(Reason::kNotFound, "no such review");
        ReviewRecord r = read_review(res[0]);
        if (r.status != "open") fail(Reason::kReviewResolved, "");
        r.status = "resolved";
        r.resolution = resolution;
        r.comment = comment;
        r.resolved_by = actor;
        r.resolved_at = at ? at : now_seconds();
        tx.exec_params("UPDATE reviews SET status = $1, resolution = $2, comment = $3, resolved_by = $4, "
                       "resolved_at = $5 WHERE id = $6 AND operator_id = $7",
                       r.status, r.resolution, r.comment, r.resolved_by, r.resolved_at, r.id, operator_id);
        // The session's decision becomes the reviewer's, so a session resolved to PASS can register.
        tx.exec_params("UPDATE sessions SET decision = $1, decided_at = $2 WHERE id = $3 AND operator_id = $4 AND "
                       "decision = 'REVIEW'",
                       resolution, *r.resolved_at, r.session_id, operator_id);
        // The comment is the reviewer's reason, which an auditor must be able to read (issue 14);
        // reviewers are told not to write personal data into it (docs/service.md).
        append_audit_tx(tx, audit(operator_id, actor, "review.resolve", r.id,
                                  {{"session_id", r.session_id}, {"resolution", resolution}, {"comment", comment}}));
        return r;
      });
    });
  }

  Status record_failure(const std::string& scope, std::int64_t at) override {
    return guard([&]() -> Status {
      write([&](Tx& tx) { tx.exec_params("INSERT INTO failures (scope, at) VALUES ($1, $2)", scope, at); });
      return ok_status();
    });
  }

  Result<std::int64_t> count_failures(const std::string& scope, std::int64_t since) override {
    return guard([&]() -> Result<std::int64_t> {
      return read([&](Tx& tx) {
        return i64(tx.exec_params("SELECT COUNT(*) FROM failures WHERE scope = $1 AND at >= $2", scope, since)[0], 0);
      });
    });
  }

  Result<std::optional<std::int64_t>> last_failure(const std::string& scope) override {
    return guard([&]() -> Result<std::optional<std::int64_t>> {
      return read([&](Tx& tx) { return opt_i64(tx.exec_params("SELECT MAX(at) FROM failures WHERE scope = $1", scope)[0], 0); });
    });
  }

  Result<std::int64_t> clear_failures(const std::string& operator_id, const std::vector<std::string>& scope_prefixes,
                                      const std::string& subject, const std::string& actor) override {
    return guard([&]() -> Result<std::int64_t> {
      for (const auto& p : scope_prefixes) require(!p.empty(), "scope prefix must not be empty");
      return write([&](Tx& tx) -> std::int64_t {
        std::int64_t n = 0;
        for (const auto& p : scope_prefixes)
          n += tx.exec_params("DELETE FROM failures WHERE left(scope, length($1)) = $1", p).affected_rows();
        append_audit_tx(tx, audit(operator_id, actor, "lock.clear", subject, {{"events", n}}));
        return n;
      });
    });
  }

  Result<std::int64_t> delete_subject(const std::string& operator_id, const std::string& id_hash,
                                      const std::string& actor) override {
    return guard([&]() -> Result<std::int64_t> {
      require(!operator_id.empty() && !id_hash.empty(), "operator and id hash are required");
      return write([&](Tx& tx) -> std::int64_t {
        lock_subject(tx, operator_id, id_hash);   // no registration of theirs slips in meanwhile
        const std::int64_t reviews =
            tx.exec_params("DELETE FROM reviews WHERE operator_id = $1 AND session_id IN "
                           "(SELECT id FROM sessions WHERE operator_id = $1 AND id_hash = $2)",
                           operator_id, id_hash)
                .affected_rows();
        const std::int64_t sessions =
            tx.exec_params("DELETE FROM sessions WHERE operator_id = $1 AND id_hash = $2", operator_id, id_hash)
                .affected_rows();
        const std::int64_t registrations =
            tx.exec_params("DELETE FROM registrations WHERE operator_id = $1 AND id_hash = $2", operator_id, id_hash)
                .affected_rows();
        append_audit_tx(tx, audit(operator_id, actor, "subject.delete", id_hash,
                                  {{"sessions", sessions}, {"registrations", registrations}, {"reviews", reviews}}));
        return sessions + registrations + reviews;
      });
    });
  }

  Result<PurgeReport> purge(const RetentionPolicy& p, std::int64_t now, const std::string& actor) override {
    return guard([&]() -> Result<PurgeReport> {
      require(p.sessions_days >= 0 && p.templates_days >= 0, "retention periods must not be negative");
      const std::int64_t session_cutoff = now - p.sessions_days * kDay;
      const std::int64_t template_cutoff = now - p.templates_days * kDay;
      return write([&](Tx& tx) {
        constexpr const char* kExpired =
            "SELECT id FROM sessions WHERE created < $1 AND NOT EXISTS "
            "(SELECT 1 FROM registrations r WHERE r.session_id = sessions.id AND r.active = 1)";
        tx.exec_params(sql("DELETE FROM reviews WHERE session_id IN (", kExpired, ")"), session_cutoff);
        PurgeReport rep;
        rep.sessions = tx.exec_params(sql("DELETE FROM sessions WHERE id IN (", kExpired, ")"), session_cutoff)
                           .affected_rows();
        // A template is kept until its session is decided (or has expired), then templates_days.
        rep.templates = tx.exec_params("UPDATE sessions SET template_sealed = ''::bytea WHERE length(template_sealed) > 0 "
                                       "AND COALESCE(decided_at, expires) <= $1",
                                       template_cutoff)
                            .affected_rows();
        tx.exec_params("DELETE FROM failures WHERE at < $1", now - kFailureRetentionSeconds);
        if (rep.sessions > 0 || rep.templates > 0)
          append_audit_tx(tx, audit("", actor, "purge", "retention",
                                    {{"sessions", rep.sessions}, {"templates", rep.templates},
                                     {"sessions_days", p.sessions_days}, {"templates_days", p.templates_days}}));
        return rep;
      });
    });
  }

  Status append_audit(const AuditEntry& e) override {
    return guard([&]() -> Status {
      require(!e.action.empty(), "audit action is required");
      write([&](Tx& tx) { append_audit_tx(tx, e); });
      return ok_status();
    });
  }

  Result<std::vector<AuditEntry>> list_audit(const std::string& operator_id, std::int64_t after_seq,
                                             int limit) override {
    return guard([&]() -> Result<std::vector<AuditEntry>> {
      if (limit <= 0 || limit > kMaxAuditPage) limit = kMaxAuditPage;
      return read([&](Tx& tx) {
        std::vector<AuditEntry> out;
        for (const auto& row : tx.exec_params(
                 sql("SELECT ", kAuditCols, " FROM audit WHERE operator_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
                 operator_id, after_seq, limit))
          out.push_back(read_audit(row));
        return out;
      });
    });
  }

  Result<ChainCheck> verify_audit() override {
    return guard([&]() -> Result<ChainCheck> {
      // One snapshot: entries and head agree even while other processes append.
      return run_tx<SnapshotTx>(pool_, [&](Tx& tx) {
        registry_detail::ChainVerifier v;
        std::int64_t after = std::numeric_limits<std::int64_t>::min();
        for (;;) {
          const auto page = tx.exec_params(
              sql("SELECT ", kAuditCols, " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"), after, kVerifyBatch);
          for (const auto& row : page) {
            auto e = read_audit(row);
            after = e.seq;
            v.add(e);
          }
          if (page.size() < static_cast<std::size_t>(kVerifyBatch)) break;
        }
        std::optional<std::int64_t> head_seq;
        std::string head_hash;
        const auto head = tx.exec("SELECT seq, hash FROM audit_head WHERE id = 1");
        if (!head.empty()) {
          head_seq = i64(head[0], 0);
          head_hash = text(head[0], 1);
        }
        auto check = v.finish(head_seq, head_hash);
        if (!head_seq && check.ok) {
          check.ok = false;
          check.first_bad_seq = check.entries + 1;
          check.problem = "the chain head record is missing";
        }
        return check;
      });
    });
  }

  Status check_health() override {
    return guard([&]() -> Status {
      read([&](Tx& tx) { tx.exec("SELECT 1 FROM audit_head WHERE id = 1"); });
      return ok_status();
    });
  }

 private:
  // Inside a transaction: the session exists at this operator and has no decision yet; its row
  // stays locked until the transaction ends.
  static void check_open_session(Tx& tx, const std::string& operator_id, const std::string& id) {
    const auto res =
        tx.exec_params("SELECT state, decision FROM sessions WHERE id = $1 AND operator_id = $2 FOR UPDATE", id,
                       operator_id);
    if (res.empty()) fail(Reason::kNotFound, "no such session");
    if (text(res[0], 0) != "open" || !text(res[0], 1).empty()) fail(Reason::kSessionDecided, "");
  }

  Pool pool_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url) {
  return guard([&]() -> Result<std::unique_ptr<Store>> {
    if (!is_postgres_url(url)) fail(Reason::kConfigError, "not a PostgreSQL URL (postgres://... or postgresql://...)");
    const PgSettings settings = parse_url(url);
    std::unique_ptr<pqxx::connection> c;
    try {
      c = connect(settings.conninfo);
    } catch (const pqxx::broken_connection& e) {
      fail(Reason::kStoreUnavailable, "cannot connect to " + redact_location(url) + ": " + unreachable(e));
    }
    migrate(*c);
    auto store = std::make_unique<PostgresStore>(settings);
    store->pool().add(std::move(c));
    return std::unique_ptr<Store>(std::move(store));
  });
}

}  // namespace simkyc
