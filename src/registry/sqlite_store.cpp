// The embedded Store: SQLite (WAL) in one file.  See store.h for the contracts.
//
// Concurrency.  A small pool of connections (one per concurrent caller, up to kMaxConnections;
// a caller beyond that waits for a free one); a connection is used by one thread at a time.
// Every write is one `BEGIN IMMEDIATE` transaction, which takes SQLite's single write lock up
// front (waiting up to the busy timeout), so a check followed by an insert (the number limit, the
// audit chain's next seq and prev_hash) is atomic across threads AND processes.  WAL lets readers
// run beside the writer.  synchronous=FULL: a committed (acknowledged) write survives kill -9 and
// power loss.  secure_delete=ON: deleted personal data is overwritten, not left in free pages.
//
// Errors inside are thrown as DbFail and converted to Error at each public method: no exception
// leaves this file.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/crypto.h"
#include "registry/detail_audit.h"
#include "registry/store.h"

namespace simkyc {
namespace {

using registry_detail::kGenesisHash;

constexpr int kBusyTimeoutMs = 10000;
constexpr std::size_t kMaxConnections = 16;
constexpr int kMaxAuditPage = 1000;
constexpr std::int64_t kDay = 86400;
// Failed attempts only matter for rate-limit windows (minutes); purge drops older ones.
constexpr std::int64_t kFailureRetentionSeconds = kDay;

struct DbFail {
  Error error;
  int rc = 0;   // SQLite extended result code, 0 when not from SQLite
};

[[noreturn]] void fail(Reason r, std::string detail, int rc = 0) {
  throw DbFail{make_error(r, std::move(detail)), rc};
}

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---- connections and statements --------------------------------------------------------------

class Conn {
 public:
  explicit Conn(const std::string& path) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      fail(Reason::kStoreError, "cannot open " + path + ": " + msg, rc);
    }
    try {
      setup(path);
    } catch (...) {
      sqlite3_close_v2(db_);
      throw;
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { sqlite3_close_v2(db_); }

  sqlite3* get() const { return db_; }

  [[noreturn]] void raise(int rc, std::string_view what) const {
    fail(Reason::kStoreError, std::string(what) + ": " + sqlite3_errmsg(db_), rc);
  }

  void exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      fail(Reason::kStoreError, msg, sqlite3_extended_errcode(db_));
    }
  }

  std::string query_text(const char* sql);

  std::int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  void setup(const std::string& path) {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // Changing to WAL needs a moment of exclusive access; another process may be opening the
    // same new file.  Once the file is in WAL mode this is a no-op.
    std::string mode;
    for (int attempt = 0; attempt < 50; ++attempt) {
      try {
        mode = query_text("PRAGMA journal_mode=WAL");
        break;
      } catch (const DbFail& e) {
        if ((e.rc & 0xff) != SQLITE_BUSY && (e.rc & 0xff) != SQLITE_LOCKED) throw;
        ::usleep(100 * 1000);
      }
    }
    if (mode != "wal") fail(Reason::kStoreError, "cannot switch " + path + " to WAL mode (got '" + mode + "')");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA secure_delete=ON");
    exec("PRAGMA foreign_keys=ON");
  }

  sqlite3* db_ = nullptr;
};

// A prepared statement; bind() takes 1-based parameter indexes in order.
class Stmt {
 public:
  Stmt(Conn& c, const char* sql) : c_(c) {
    const int rc = sqlite3_prepare_v2(c.get(), sql, -1, &s_, nullptr);
    if (rc != SQLITE_OK) c.raise(rc, "prepare");
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }

  template <class... A>
  Stmt& bind_all(const A&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }
  void bind(int i, std::string_view v) {
    check(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind(int i, const std::string& v) { bind(i, std::string_view(v)); }
  void bind(int i, const char* v) { bind(i, std::string_view(v)); }
  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, int v) { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, double v) { check(sqlite3_bind_double(s_, i, v)); }
  void bind(int i, const std::vector<std::uint8_t>& v) {
    // A zero-length blob, not NULL, for an empty vector.
    check(sqlite3_bind_blob64(s_, i, v.empty() ? "" : static_cast<const void*>(v.data()), v.size(),
                              SQLITE_TRANSIENT));
  }
  void bind(int i, const std::optional<std::int64_t>& v) {
    if (v) bind(i, *v);
    else check(sqlite3_bind_null(s_, i));
  }
  void bind(int i, const std::optional<double>& v) {
    if (v) bind(i, *v);
    else check(sqlite3_bind_null(s_, i));
  }

  // Returns true when a row is available, false when done.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    c_.raise(sqlite3_extended_errcode(c_.get()), "step");
  }
  // Runs a statement that returns no rows; returns the number of rows changed.
  std::int64_t run() {
    while (step()) {
    }
    return c_.changes();
  }

  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  double dbl(int col) const { return sqlite3_column_double(s_, col); }
  bool null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::optional<std::int64_t> opt_i64(int col) const {
    return null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
  }
  std::optional<double> opt_dbl(int col) const {
    return null(col) ? std::nullopt : std::optional<double>(dbl(col));
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    const int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
  }
  std::vector<std::uint8_t> blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
    const int n = sqlite3_column_bytes(s_, col);
    return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) c_.raise(rc, "bind");
  }
  Conn& c_;
  sqlite3_stmt* s_ = nullptr;
};

std::string Conn::query_text(const char* sql) {
  Stmt st(*this, sql);
  return st.step() ? st.text(0) : std::string();
}

// A transaction: BEGIN IMMEDIATE for writes (takes the write lock now, so nothing another writer
// commits can come between our reads and our writes), BEGIN (deferred) for consistent reads.
// Rolls back unless commit() succeeded.
class Tx {
 public:
  enum Kind { kRead, kWrite };
  Tx(Conn& c, Kind k) : c_(c) { c_.exec(k == kWrite ? "BEGIN IMMEDIATE" : "BEGIN"); }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx() {
    if (!done_ && !sqlite3_get_autocommit(c_.get())) sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  Conn& c_;
  bool done_ = false;
};

// ---- schema ----------------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;
};

// Append new migrations at the end; never edit a released one.
const Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  operator_id TEXT NOT NULL,
  role TEXT NOT NULL,
  created INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  device_id TEXT NOT NULL DEFAULT '',
  nonce TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  challenge_json TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'open',
  consent_at INTEGER,
  consent_version TEXT NOT NULL DEFAULT '',
  id_hash TEXT NOT NULL DEFAULT '',
  id_sealed BLOB,
  document_json TEXT NOT NULL DEFAULT '',
  template_sealed BLOB,
  decision TEXT NOT NULL DEFAULT '',
  reasons_json TEXT NOT NULL DEFAULT '',
  score REAL,
  threshold REAL NOT NULL DEFAULT 0,
  fmr REAL NOT NULL DEFAULT 0,
  model TEXT NOT NULL DEFAULT '',
  decided_at INTEGER
);
CREATE INDEX sessions_subject ON sessions(operator_id, id_hash);
CREATE INDEX sessions_created ON sessions(created);
CREATE TABLE registrations (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL,
  id_hash TEXT NOT NULL,
  number_hash TEXT NOT NULL,
  number_sealed BLOB,
  session_id TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
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
  created INTEGER NOT NULL,
  resolved_at INTEGER
);
CREATE INDEX reviews_queue ON reviews(operator_id, status, created);
CREATE INDEX reviews_session ON reviews(session_id);
CREATE TABLE failures (
  scope TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX failures_scope_at ON failures(scope, at);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
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
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql"},
    // Issue 14: each operator's own gap-free sequence and hash chain (see store.h, AuditEntry).
    // Entries from before keep their operator sequence numbers but have no operator hash.
    {2, R"sql(
ALTER TABLE audit ADD COLUMN op_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN op_prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN op_hash TEXT NOT NULL DEFAULT '';
UPDATE audit SET op_seq = (SELECT COUNT(*) FROM audit a WHERE a.operator_id = audit.operator_id AND a.seq <= audit.seq);
CREATE INDEX audit_operator_seq ON audit(operator_id, op_seq);
)sql"},
};

void migrate(Conn& c) {
  Tx tx(c, Tx::kWrite);
  c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  std::int64_t current = 0;
  {
    Stmt st(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (st.step()) current = st.i64(0);
  }
  const int latest = std::end(kMigrations)[-1].version;
  if (current > latest)
    fail(Reason::kStoreError, "the database schema (version " + std::to_string(current) +
                                  ") is newer than this simkyc understands (" + std::to_string(latest) + ")");
  for (const auto& m : kMigrations) {
    if (m.version <= current) continue;
    c.exec(m.sql);
    Stmt(c, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
        .bind_all(m.version, now_seconds())
        .run();
  }
  tx.commit();
}

// ---- row mapping -----------------------------------------------------------------------------

constexpr const char* kSessionCols =
    "id, operator_id, channel, device_id, nonce, created, expires, challenge_json, state, consent_at, "
    "consent_version, id_hash, id_sealed, document_json, template_sealed, decision, reasons_json, score, "
    "threshold, fmr, model, decided_at";

SessionRecord read_session(const Stmt& st) {
  SessionRecord s;
  s.id = st.text(0);
  s.operator_id = st.text(1);
  s.channel = st.text(2);
  s.device_id = st.text(3);
  s.nonce = st.text(4);
  s.created = st.i64(5);
  s.expires = st.i64(6);
  s.challenge_json = st.text(7);
  s.state = st.text(8);
  s.consent_at = st.opt_i64(9);
  s.consent_version = st.text(10);
  s.id_hash = st.text(11);
  s.id_sealed = st.blob(12);
  s.document_json = st.text(13);
  s.template_sealed = st.blob(14);
  s.decision = st.text(15);
  s.reasons_json = st.text(16);
  s.score = st.opt_dbl(17);
  s.threshold = st.dbl(18);
  s.fmr = st.dbl(19);
  s.model = st.text(20);
  s.decided_at = st.opt_i64(21);
  return s;
}

constexpr const char* kRegistrationCols =
    "id, operator_id, id_hash, number_hash, number_sealed, session_id, created, active";

RegistrationRecord read_registration(const Stmt& st) {
  RegistrationRecord r;
  r.id = st.text(0);
  r.operator_id = st.text(1);
  r.id_hash = st.text(2);
  r.number_hash = st.text(3);
  r.number_sealed = st.blob(4);
  r.session_id = st.text(5);
  r.created = st.i64(6);
  r.active = st.i64(7) != 0;
  return r;
}

constexpr const char* kReviewCols =
    "id, operator_id, session_id, status, resolution, comment, resolved_by, created, resolved_at";

ReviewRecord read_review(const Stmt& st) {
  ReviewRecord r;
  r.id = st.text(0);
  r.operator_id = st.text(1);
  r.session_id = st.text(2);
  r.status = st.text(3);
  r.resolution = st.text(4);
  r.comment = st.text(5);
  r.resolved_by = st.text(6);
  r.created = st.i64(7);
  r.resolved_at = st.opt_i64(8);
  return r;
}

constexpr const char* kAuditCols =
    "seq, ts, operator_id, actor, action, subject, details_json, prev_hash, hash, op_seq, op_prev_hash, op_hash";

AuditEntry read_audit(const Stmt& st) {
  AuditEntry e;
  e.seq = st.i64(0);
  e.ts = st.i64(1);
  e.operator_id = st.text(2);
  e.actor = st.text(3);
  e.action = st.text(4);
  e.subject = st.text(5);
  e.details_json = st.text(6);
  e.prev_hash = st.text(7);
  e.hash = st.text(8);
  e.op_seq = st.i64(9);
  e.op_prev_hash = st.text(10);
  e.op_hash = st.text(11);
  return e;
}

std::string sql(const char* head, const char* cols, const char* tail) {
  return std::string(head) + cols + tail;
}

// Appends an audit entry inside the caller's write transaction: the next seq and prev_hash come
// from audit_head, which the same transaction updates.
AuditEntry append_audit_tx(Conn& c, AuditEntry e) {
  {
    Stmt st(c, "SELECT seq, hash FROM audit_head WHERE id = 1");
    if (!st.step()) fail(Reason::kStoreError, "audit_head row is missing");
    e.seq = st.i64(0) + 1;
    e.prev_hash = st.text(1);
  }
  if (e.ts == 0) e.ts = now_seconds();
  if (e.details_json.empty()) e.details_json = "{}";
  e.hash = registry_detail::audit_entry_hash(e.prev_hash, e);
  // The operator's chain: its last entry, in the same write transaction.
  e.op_seq = 1;
  e.op_prev_hash = kGenesisHash;
  {
    Stmt st(c, "SELECT op_seq, op_hash FROM audit WHERE operator_id = ? ORDER BY seq DESC LIMIT 1");
    st.bind_all(e.operator_id);
    if (st.step()) {
      e.op_seq = st.i64(0) + 1;
      if (!st.text(1).empty()) e.op_prev_hash = st.text(1);
    }
  }
  e.op_hash = registry_detail::audit_operator_hash(e.op_prev_hash, e);
  Stmt(c, "INSERT INTO audit (seq, ts, operator_id, actor, action, subject, details_json, prev_hash, hash, "
          "op_seq, op_prev_hash, op_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(e.seq, e.ts, e.operator_id, e.actor, e.action, e.subject, e.details_json, e.prev_hash, e.hash,
                e.op_seq, e.op_prev_hash, e.op_hash)
      .run();
  Stmt(c, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1").bind_all(e.seq, e.hash).run();
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

void require(bool cond, const char* what) {
  if (!cond) fail(Reason::kBadRequest, what);
}

// ---- the pool ----------------------------------------------------------------------------------

class Pool {
 public:
  explicit Pool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(Pool& p, std::unique_ptr<Conn> c) : p_(p), c_(std::move(c)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { p_.release(std::move(c_)); }
    Conn& operator*() { return *c_; }

   private:
    Pool& p_;
    std::unique_ptr<Conn> c_;
  };

  Lease acquire() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxConnections; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
    ++open_;
    lock.unlock();
    try {
      return Lease(*this, std::make_unique<Conn>(path_));
    } catch (...) {
      std::lock_guard g(m_);
      --open_;
      cv_.notify_one();
      throw;
    }
  }

  void add(std::unique_ptr<Conn> c) {
    std::lock_guard g(m_);
    ++open_;
    idle_.push_back(std::move(c));
  }

 private:
  void release(std::unique_ptr<Conn> c) {
    if (c && !sqlite3_get_autocommit(c->get()))
      sqlite3_exec(c->get(), "ROLLBACK", nullptr, nullptr, nullptr);
    std::lock_guard g(m_);
    if (c) idle_.push_back(std::move(c));
    else --open_;
    cv_.notify_one();
  }

  std::string path_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::size_t open_ = 0;
};

template <class F>
auto guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const DbFail& e) {
    return e.error;
  } catch (const std::exception& e) {
    return make_error(Reason::kStoreError, e.what());
  }
}

// ---- the store ---------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : pool_(std::move(path)) {}
  Pool& pool() { return pool_; }

  Status add_key(const ApiKeyRecord& key, const std::string& actor) override {
    return guard([&]() -> Status {
      require(!key.key_id.empty() && !key.secret_hash.empty() && !key.operator_id.empty(),
              "key id, secret hash and operator are required");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      {
        Stmt st(*c, "SELECT 1 FROM api_keys WHERE key_id = ?");
        st.bind_all(key.key_id);
        if (st.step()) fail(Reason::kStoreError, "a key with this id already exists");
      }
      const std::int64_t created = key.created ? key.created : now_seconds();
      Stmt(*c, "INSERT INTO api_keys (key_id, secret_hash, operator_id, role, created, revoked) "
               "VALUES (?, ?, ?, ?, ?, ?)")
          .bind_all(key.key_id, key.secret_hash, key.operator_id, to_string(key.role), created,
                    key.revoked ? 1 : 0)
          .run();
      append_audit_tx(*c, audit(key.operator_id, actor, "key.create", key.key_id,
                                {{"role", to_string(key.role)}}));
      tx.commit();
      return ok_status();
    });
  }

  Result<std::optional<ApiKeyRecord>> find_key(const std::string& key_id) override {
    return guard([&]() -> Result<std::optional<ApiKeyRecord>> {
      auto c = pool_.acquire();
      Stmt st(*c, "SELECT key_id, secret_hash, operator_id, role, created, revoked FROM api_keys WHERE key_id = ?");
      st.bind_all(key_id);
      if (!st.step()) return std::optional<ApiKeyRecord>();
      ApiKeyRecord k;
      k.key_id = st.text(0);
      k.secret_hash = st.text(1);
      k.operator_id = st.text(2);
      const auto role = role_from_string(st.text(3));
      if (!role) fail(Reason::kStoreError, "key has an unknown role");
      k.role = *role;
      k.created = st.i64(4);
      k.revoked = st.i64(5) != 0;
      return std::optional<ApiKeyRecord>(std::move(k));
    });
  }

  Status revoke_key(const std::string& key_id, const std::string& actor) override {
    return guard([&]() -> Status {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      std::string op;
      bool revoked = false;
      {
        Stmt st(*c, "SELECT operator_id, revoked FROM api_keys WHERE key_id = ?");
        st.bind_all(key_id);
        if (!st.step()) fail(Reason::kNotFound, "no such key");
        op = st.text(0);
        revoked = st.i64(1) != 0;
      }
      if (!revoked) {   // revoking twice is not an error, and not a second change
        Stmt(*c, "UPDATE api_keys SET revoked = 1 WHERE key_id = ?").bind_all(key_id).run();
        append_audit_tx(*c, audit(op, actor, "key.revoke", key_id, nlohmann::json::object()));
      }
      tx.commit();
      return ok_status();
    });
  }

  Status create_session(const SessionRecord& s) override {
    return guard([&]() -> Status {
      require(!s.id.empty() && !s.operator_id.empty(), "session id and operator are required");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      {
        Stmt st(*c, "SELECT 1 FROM sessions WHERE id = ?");
        st.bind_all(s.id);
        if (st.step()) fail(Reason::kStoreError, "a session with this id already exists");
      }
      Stmt(*c, "INSERT INTO sessions (id, operator_id, channel, device_id, nonce, created, expires, "
               "challenge_json, state, consent_at, consent_version, document_json) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind_all(s.id, s.operator_id, s.channel, s.device_id, s.nonce, s.created ? s.created : now_seconds(),
                    s.expires, s.challenge_json, s.state.empty() ? std::string("open") : s.state, s.consent_at,
                    s.consent_version, s.document_json)
          .run();
      tx.commit();
      return ok_status();
    });
  }

  Result<std::optional<SessionRecord>> get_session(const std::string& operator_id,
                                                   const std::string& id) override {
    return guard([&]() -> Result<std::optional<SessionRecord>> {
      auto c = pool_.acquire();
      Stmt st(*c, sql("SELECT ", kSessionCols, " FROM sessions WHERE id = ? AND operator_id = ?").c_str());
      st.bind_all(id, operator_id);
      if (!st.step()) return std::optional<SessionRecord>();
      return std::optional<SessionRecord>(read_session(st));
    });
  }

  Status record_consent(const std::string& operator_id, const std::string& session_id,
                        const std::string& version, std::int64_t at, const std::string& actor) override {
    return guard([&]() -> Status {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      {
        Stmt st(*c, "SELECT consent_at FROM sessions WHERE id = ? AND operator_id = ?");
        st.bind_all(session_id, operator_id);
        if (!st.step()) fail(Reason::kNotFound, "no such session");
        if (!st.null(0)) return ok_status();   // already recorded: idempotent, no second entry
      }
      Stmt(*c, "UPDATE sessions SET consent_at = ?, consent_version = ? WHERE id = ? AND operator_id = ?")
          .bind_all(at, version, session_id, operator_id)
          .run();
      append_audit_tx(*c, audit(operator_id, actor, "consent", session_id, {{"version", version}, {"at", at}}));
      tx.commit();
      return ok_status();
    });
  }

  Status save_document(const SessionRecord& s) override {
    return guard([&]() -> Status {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      check_open_session(*c, s.operator_id, s.id);
      Stmt(*c, "UPDATE sessions SET id_hash = ?, id_sealed = ?, document_json = ?, template_sealed = ? "
               "WHERE id = ? AND operator_id = ?")
          .bind_all(s.id_hash, s.id_sealed, s.document_json, s.template_sealed, s.id, s.operator_id)
          .run();
      tx.commit();
      return ok_status();
    });
  }

  Status save_decision(const SessionRecord& s, const std::string& actor) override {
    return guard([&]() -> Status {
      require(s.decision == "PASS" || s.decision == "REVIEW" || s.decision == "FAIL",
              "decision must be PASS, REVIEW or FAIL");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      check_open_session(*c, s.operator_id, s.id);
      const std::int64_t at = s.decided_at ? *s.decided_at : now_seconds();
      Stmt(*c, "UPDATE sessions SET state = 'decided', decision = ?, reasons_json = ?, score = ?, threshold = ?, "
               "fmr = ?, model = ?, decided_at = ?, template_sealed = ? "
               "WHERE id = ? AND operator_id = ?")
          .bind_all(s.decision, s.reasons_json, s.score, s.threshold, s.fmr, s.model, at, s.template_sealed, s.id,
                    s.operator_id)
          .run();
      nlohmann::json details = {{"decision", s.decision}, {"threshold", s.threshold}, {"fmr", s.fmr},
                                {"model", s.model}};
      auto reasons = nlohmann::json::parse(s.reasons_json, nullptr, /*allow_exceptions=*/false);
      details["reasons"] = reasons.is_discarded() ? nlohmann::json::array() : reasons;
      details["score"] = s.score ? nlohmann::json(*s.score) : nlohmann::json(nullptr);
      if (!s.live_capture.empty()) details["live_capture"] = s.live_capture;
      if (s.decision == "REVIEW") {
        const std::string review_id = "rv_" + random_hex(12);
        Stmt(*c, "INSERT INTO reviews (id, operator_id, session_id, status, created) VALUES (?, ?, ?, 'open', ?)")
            .bind_all(review_id, s.operator_id, s.id, at)
            .run();
        details["review_id"] = review_id;
      }
      append_audit_tx(*c, audit(s.operator_id, actor, "decision", s.id, details));
      tx.commit();
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
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      {
        Stmt st(*c, "SELECT 1 FROM registrations WHERE operator_id = ? AND number_hash = ? AND active = 1");
        st.bind_all(r.operator_id, r.number_hash);
        if (st.step()) fail(Reason::kNumberAlreadyRegistered, "");
      }
      std::int64_t active = 0;
      {
        Stmt st(*c, "SELECT COUNT(*) FROM registrations WHERE operator_id = ? AND id_hash = ? AND active = 1");
        st.bind_all(r.operator_id, r.id_hash);
        if (st.step()) active = st.i64(0);
      }
      if (active >= limit)
        fail(Reason::kNumberLimitReached, std::to_string(active) + " of " + std::to_string(limit) + " in use");
      try {
        Stmt(*c, sql("INSERT INTO registrations (", kRegistrationCols, ") VALUES (?, ?, ?, ?, ?, ?, ?, 1)").c_str())
            .bind_all(out.id, out.operator_id, out.id_hash, out.number_hash, out.number_sealed, out.session_id,
                      out.created)
            .run();
      } catch (const DbFail& e) {
        if ((e.rc & 0xff) == SQLITE_CONSTRAINT) fail(Reason::kNumberAlreadyRegistered, "");
        throw;
      }
      append_audit_tx(*c, audit(r.operator_id, actor, "registration", out.id,
                                {{"session_id", out.session_id}, {"active", active + 1}, {"limit", limit}}));
      tx.commit();
      return out;
    });
  }

  Result<std::vector<RegistrationRecord>> list_registrations(const std::string& operator_id,
                                                             const std::string& id_hash) override {
    return guard([&]() -> Result<std::vector<RegistrationRecord>> {
      auto c = pool_.acquire();
      Stmt st(*c, sql("SELECT ", kRegistrationCols,
                      " FROM registrations WHERE operator_id = ? AND id_hash = ? ORDER BY created, id")
                      .c_str());
      st.bind_all(operator_id, id_hash);
      std::vector<RegistrationRecord> out;
      while (st.step()) out.push_back(read_registration(st));
      return out;
    });
  }

  Result<std::optional<RegistrationRecord>> find_registration_by_number(const std::string& operator_id,
                                                                        const std::string& number_hash) override {
    return guard([&]() -> Result<std::optional<RegistrationRecord>> {
      auto c = pool_.acquire();
      Stmt st(*c, sql("SELECT ", kRegistrationCols,
                      " FROM registrations WHERE operator_id = ? AND number_hash = ? "
                      "ORDER BY active DESC, created DESC LIMIT 1")
                      .c_str());
      st.bind_all(operator_id, number_hash);
      if (!st.step()) return std::optional<RegistrationRecord>();
      return std::optional<RegistrationRecord>(read_registration(st));
    });
  }

  Result<RegistrationRecord> release_registration(const std::string& operator_id, const std::string& registration_id,
                                                  const std::string& actor, std::int64_t at) override {
    return guard([&]() -> Result<RegistrationRecord> {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      RegistrationRecord r;
      {
        Stmt st(*c, sql("SELECT ", kRegistrationCols,
                        " FROM registrations WHERE id = ? AND operator_id = ? AND active = 1").c_str());
        st.bind_all(registration_id, operator_id);
        if (!st.step()) fail(Reason::kNotFound, "no active registration with this id");
        r = read_registration(st);
      }
      Stmt(*c, "UPDATE registrations SET active = 0 WHERE id = ? AND operator_id = ?")
          .bind_all(registration_id, operator_id)
          .run();
      r.active = false;
      AuditEntry e = audit(operator_id, actor, "registration.release", r.id, {{"session_id", r.session_id}});
      e.ts = at;
      append_audit_tx(*c, e);
      tx.commit();
      return r;
    });
  }

  Result<std::vector<ReviewRecord>> list_reviews(const std::string& operator_id, const std::string& status) override {
    return guard([&]() -> Result<std::vector<ReviewRecord>> {
      auto c = pool_.acquire();
      Stmt st(*c, sql("SELECT ", kReviewCols,
                      " FROM reviews WHERE operator_id = ?1 AND (?2 = '' OR status = ?2) ORDER BY created, id")
                      .c_str());
      st.bind_all(operator_id, status);
      std::vector<ReviewRecord> out;
      while (st.step()) out.push_back(read_review(st));
      return out;
    });
  }

  Result<ReviewRecord> resolve_review(const std::string& operator_id, const std::string& review_id,
                                      const std::string& resolution, const std::string& comment,
                                      const std::string& actor, std::int64_t at) override {
    return guard([&]() -> Result<ReviewRecord> {
      require(resolution == "PASS" || resolution == "FAIL", "resolution must be PASS or FAIL");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      ReviewRecord r;
      {
        Stmt st(*c, sql("SELECT ", kReviewCols, " FROM reviews WHERE id = ? AND operator_id = ?").c_str());
        st.bind_all(review_id, operator_id);
        if (!st.step()) fail(Reason::kNotFound, "no such review");
        r = read_review(st);
      }
      if (r.status != "open") fail(Reason::kReviewResolved, "");
      r.status = "resolved";
      r.resolution = resolution;
      r.comment = comment;
      r.resolved_by = actor;
      r.resolved_at = at ? at : now_seconds();
      Stmt(*c, "UPDATE reviews SET status = ?, resolution = ?, comment = ?, resolved_by = ?, resolved_at = ? "
               "WHERE id = ? AND operator_id = ?")
          .bind_all(r.status, r.resolution, r.comment, r.resolved_by, r.resolved_at, r.id, operator_id)
          .run();
      // The session's decision becomes the reviewer's, so a session resolved to PASS can register.
      Stmt(*c, "UPDATE sessions SET decision = ?, decided_at = ? WHERE id = ? AND operator_id = ? AND decision = 'REVIEW'")
          .bind_all(resolution, *r.resolved_at, r.session_id, operator_id)
          .run();
      // The comment is the reviewer's reason, which an auditor must be able to read (issue 14);
      // reviewers are told not to write personal data into it (docs/service.md).
      append_audit_tx(*c, audit(operator_id, actor, "review.resolve", r.id,
                                {{"session_id", r.session_id}, {"resolution", resolution},
                                 {"comment", comment}}));
      tx.commit();
      return r;
    });
  }

  Status record_failure(const std::string& scope, std::int64_t at) override {
    return guard([&]() -> Status {
      auto c = pool_.acquire();
      Stmt(*c, "INSERT INTO failures (scope, at) VALUES (?, ?)").bind_all(scope, at).run();
      return ok_status();
    });
  }

  Result<std::int64_t> count_failures(const std::string& scope, std::int64_t since) override {
    return guard([&]() -> Result<std::int64_t> {
      auto c = pool_.acquire();
      Stmt st(*c, "SELECT COUNT(*) FROM failures WHERE scope = ? AND at >= ?");
      st.bind_all(scope, since);
      return st.step() ? st.i64(0) : std::int64_t{0};
    });
  }

  Result<std::optional<std::int64_t>> last_failure(const std::string& scope) override {
    return guard([&]() -> Result<std::optional<std::int64_t>> {
      auto c = pool_.acquire();
      Stmt st(*c, "SELECT MAX(at) FROM failures WHERE scope = ?");
      st.bind_all(scope);
      return st.step() ? st.opt_i64(0) : std::optional<std::int64_t>();
    });
  }

  Result<std::int64_t> clear_failures(const std::string& operator_id, const std::vector<std::string>& scope_prefixes,
                                      const std::string& subject, const std::string& actor) override {
    return guard([&]() -> Result<std::int64_t> {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      std::int64_t n = 0;
      for (const auto& p : scope_prefixes) {
        require(!p.empty(), "scope prefix must not be empty");
        n += Stmt(*c, "DELETE FROM failures WHERE substr(scope, 1, length(?1)) = ?1").bind_all(p).run();
      }
      append_audit_tx(*c, audit(operator_id, actor, "lock.clear", subject, {{"events", n}}));
      tx.commit();
      return n;
    });
  }

  Result<std::int64_t> delete_subject(const std::string& operator_id, const std::string& id_hash,
                                      const std::string& actor) override {
    return guard([&]() -> Result<std::int64_t> {
      require(!operator_id.empty() && !id_hash.empty(), "operator and id hash are required");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      const auto reviews =
          Stmt(*c, "DELETE FROM reviews WHERE operator_id = ?1 AND session_id IN "
                   "(SELECT id FROM sessions WHERE operator_id = ?1 AND id_hash = ?2)")
              .bind_all(operator_id, id_hash)
              .run();
      const auto sessions =
          Stmt(*c, "DELETE FROM sessions WHERE operator_id = ? AND id_hash = ?").bind_all(operator_id, id_hash).run();
      const auto registrations =
          Stmt(*c, "DELETE FROM registrations WHERE operator_id = ? AND id_hash = ?")
              .bind_all(operator_id, id_hash)
              .run();
      append_audit_tx(*c, audit(operator_id, actor, "subject.delete", id_hash,
                                {{"sessions", sessions}, {"registrations", registrations}, {"reviews", reviews}}));
      tx.commit();
      return sessions + registrations + reviews;
    });
  }

  Result<PurgeReport> purge(const RetentionPolicy& p, std::int64_t now, const std::string& actor) override {
    return guard([&]() -> Result<PurgeReport> {
      require(p.sessions_days >= 0 && p.templates_days >= 0, "retention periods must not be negative");
      const std::int64_t session_cutoff = now - p.sessions_days * kDay;
      const std::int64_t template_cutoff = now - p.templates_days * kDay;
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      constexpr const char* kExpired =
          "SELECT id FROM sessions WHERE created < ?1 AND NOT EXISTS "
          "(SELECT 1 FROM registrations r WHERE r.session_id = sessions.id AND r.active = 1)";
      Stmt(*c, sql("DELETE FROM reviews WHERE session_id IN (", kExpired, ")").c_str())
          .bind_all(session_cutoff)
          .run();
      PurgeReport rep;
      rep.sessions = Stmt(*c, sql("DELETE FROM sessions WHERE id IN (", kExpired, ")").c_str())
                         .bind_all(session_cutoff)
                         .run();
      // A template is kept until its session is decided (or has expired), then templates_days.
      rep.templates = Stmt(*c, "UPDATE sessions SET template_sealed = X'' WHERE length(template_sealed) > 0 "
                               "AND COALESCE(decided_at, expires) <= ?")
                          .bind_all(template_cutoff)
                          .run();
      Stmt(*c, "DELETE FROM failures WHERE at < ?").bind_all(now - kFailureRetentionSeconds).run();
      if (rep.sessions > 0 || rep.templates > 0)
        append_audit_tx(*c, audit("", actor, "purge", "retention",
                                  {{"sessions", rep.sessions}, {"templates", rep.templates},
                                   {"sessions_days", p.sessions_days}, {"templates_days", p.templates_days}}));
      tx.commit();
      return rep;
    });
  }

  Status append_audit(const AuditEntry& e) override {
    return guard([&]() -> Status {
      require(!e.action.empty(), "audit action is required");
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kWrite);
      append_audit_tx(*c, e);
      tx.commit();
      return ok_status();
    });
  }

  Result<std::vector<AuditEntry>> list_audit(const std::string& operator_id, std::int64_t after_seq,
                                             int limit) override {
    return guard([&]() -> Result<std::vector<AuditEntry>> {
      if (limit <= 0 || limit > kMaxAuditPage) limit = kMaxAuditPage;
      auto c = pool_.acquire();
      Stmt st(*c, sql("SELECT ", kAuditCols, " FROM audit WHERE operator_id = ? AND seq > ? ORDER BY seq LIMIT ?")
                      .c_str());
      st.bind_all(operator_id, after_seq, limit);
      std::vector<AuditEntry> out;
      while (st.step()) out.push_back(read_audit(st));
      return out;
    });
  }

  Result<ChainCheck> verify_audit() override {
    return guard([&]() -> Result<ChainCheck> {
      auto c = pool_.acquire();
      Tx tx(*c, Tx::kRead);   // one snapshot: entries and head agree even while others append
      registry_detail::ChainVerifier v;
      {
        Stmt st(*c, sql("SELECT ", kAuditCols, " FROM audit ORDER BY seq").c_str());
        while (st.step()) v.add(read_audit(st));
      }
      std::optional<std::int64_t> head_seq;
      std::string head_hash;
      {
        Stmt st(*c, "SELECT seq, hash FROM audit_head WHERE id = 1");
        if (st.step()) {
          head_seq = st.i64(0);
          head_hash = st.text(1);
        }
      }
      auto check = v.finish(head_seq, head_hash);
      if (!head_seq && check.ok) {
        check.ok = false;
        check.first_bad_seq = check.entries + 1;
        check.problem = "the chain head record is missing";
      }
      tx.commit();
      return check;
    });
  }

 private:
  // Inside a transaction: the session exists at this operator and has no decision yet.
  static void check_open_session(Conn& c, const std::string& operator_id, const std::string& id) {
    Stmt st(c, "SELECT state, decision FROM sessions WHERE id = ? AND operator_id = ?");
    st.bind_all(id, operator_id);
    if (!st.step()) fail(Reason::kNotFound, "no such session");
    if (st.text(0) != "open" || !st.text(1).empty()) fail(Reason::kSessionDecided, "");
  }

  Pool pool_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return guard([&]() -> Result<std::unique_ptr<Store>> {
    if (path.empty()) fail(Reason::kStoreError, "no store path given");
    // Create a new database file as 0600 (SQLite gives its -wal and -shm files the same mode):
    // it holds keyed hashes and sealed personal data.
    if (path != ":memory:" && path.rfind("file:", 0) != 0) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) fail(Reason::kStoreError, "cannot open " + path + ": " + std::strerror(errno));
      ::close(fd);
    }
    auto store = std::make_unique<SqliteStore>(path);
    auto conn = std::make_unique<Conn>(path);
    migrate(*conn);
    store->pool().add(std::move(conn));
    return std::unique_ptr<Store>(std::move(store));
  });
}

}  // namespace simkyc
