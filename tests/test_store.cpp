// registry/store.h, the same tests through each Store: SQLite on real files in temporary
// directories, and PostgreSQL on a real throw-away cluster (tests/pg_test_cluster.h).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/crypto.h"
#include "registry/detail_audit.h"
#include "registry/store.h"
#include "pg_test_cluster.h"
#include "registry_helpers.h"

namespace fs = std::filesystem;
using namespace simkyc;
using simkyc::test::TempDir;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kDay = 86400;
const char* kIdNumber = "11010519491231002X";
const char* kPhone = "+8613800138000";

std::unique_ptr<Store> must_open(const std::string& location) {
  auto s = simkyc::open_store(location);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().describe());
  return s.ok() ? std::move(s.value()) : nullptr;
}

Vault test_vault() {
  return std::move(Vault::from_hex("8f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").value());
}

SessionRecord session(const std::string& op, const std::string& id, std::int64_t created = kNow) {
  SessionRecord s;
  s.id = id;
  s.operator_id = op;
  s.channel = "counter";
  s.device_id = "dev-1";
  s.nonce = random_hex(16);
  s.created = created;
  s.expires = created + 600;
  s.challenge_json = R"({"actions":["blink","left"]})";
  return s;
}

// A session with a document and a decision, for subject `id_hash`.
void decided_session(Store& st, const std::string& op, const std::string& id, const std::string& id_hash,
                     const std::string& decision, std::int64_t created = kNow) {
  auto s = session(op, id, created);
  ASSERT_TRUE(st.create_session(s).ok());
  ASSERT_TRUE(st.record_consent(op, id, "v1", created + 1, "k_clerk").ok());
  s.id_hash = id_hash;
  s.id_sealed = test_vault().seal(kIdNumber, "id:" + id);
  s.document_json = R"({"kind":"resident_id","valid":true})";
  ASSERT_TRUE(st.save_document(s).ok());
  s.decision = decision;
  s.reasons_json = decision == "REVIEW" ? R"(["MATCH_BORDERLINE"])" : "[]";
  s.score = 0.71;
  s.threshold = 0.6;
  s.fmr = 1e-4;
  s.model = "dlib-resnet-v1";
  s.decided_at = created + 30;
  s.template_sealed = test_vault().seal(std::string(512, 't'), "template:" + id);
  auto r = st.save_decision(s, "k_clerk");
  ASSERT_TRUE(r.ok()) << r.error().describe();
}

RegistrationRecord registration(const std::string& op, const std::string& id_hash, const std::string& number,
                                const std::string& session_id = "s1") {
  RegistrationRecord r;
  r.operator_id = op;
  r.id_hash = id_hash;
  r.number_hash = test_vault().keyed_hash(number, "phone");
  r.number_sealed = test_vault().seal(number, "phone");
  r.session_id = session_id;
  r.created = kNow;
  return r;
}

std::vector<AuditEntry> all_audit(Store& st, const std::string& op) {
  auto r = st.list_audit(op, 0, 1000);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<AuditEntry>{};
}


// ---- the backends ------------------------------------------------------------------------------

void build_audited_store(const std::string& db);

enum class Backend { kSqlite, kPostgres };

// Where a test's stores live, and raw SQL on them (as an attacker with the database would).
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  bool sqlite() const { return GetParam() == Backend::kSqlite; }

  void SetUp() override {
    if (!sqlite()) {
      const auto* c = simkyc::test::shared_pg_cluster();
      ASSERT_NE(c, nullptr) << "no PostgreSQL test cluster";
      pg_.emplace(c);
    }
  }

  // A location for a new, empty store: a file in a temporary directory, or a new database.
  std::string fresh() {
    if (sqlite()) return dir_.file("simkyc_" + std::to_string(++n_) + ".db");
    return pg_->fresh();
  }
  // A copy of a closed store.
  std::string copy(const std::string& location) {
    if (!sqlite()) return pg_->fresh(location);
    const std::string p = dir_.file("copy_" + std::to_string(++n_) + ".db");
    fs::copy_file(location, p);
    return p;
  }

  void exec(const std::string& location, const std::string& sql) {
    if (sqlite()) return simkyc::test::sql_exec(location, sql);
#ifdef SIMKYC_HAVE_POSTGRES
    try {
      simkyc::test::pg_exec(location, sql);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << " in: " << sql;
    }
#endif
  }
  std::vector<std::vector<std::string>> rows(const std::string& location, const std::string& sql) {
    if (sqlite()) return simkyc::test::sql_rows(location, sql);
#ifdef SIMKYC_HAVE_POSTGRES
    try {
      return simkyc::test::pg_rows(location, sql);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << " in: " << sql;
    }
#endif
    return {};
  }
  // A copy of a closed store with the varied 10-entry audit log (built once per test), to tamper with.
  std::string audited_copy() {
    if (audited_.empty()) {
      audited_ = fresh();
      build_audited_store(audited_);
    }
    return copy(audited_);
  }

  std::string value(const std::string& location, const std::string& sql) {
    const auto r = rows(location, sql);
    return r.empty() || r[0].empty() ? std::string() : r[0][0];
  }

  // Every byte the store's database keeps on disk: the SQLite file and its WAL, or (after a
  // checkpoint) the PostgreSQL database's files and the cluster's WAL.
  std::string disk_bytes(const std::string& location) {
    if (sqlite()) return simkyc::test::db_bytes(location);
    exec(location, "CHECKPOINT");
    const std::string oid = value(location, "SELECT oid FROM pg_database WHERE datname = current_database()");
    std::string all;
    const fs::path data = fs::path(pg_->cluster().dir) / "data";
    for (const fs::path& d : {data / "base" / oid, data / "pg_wal"}) {
      std::error_code ec;
      for (const auto& f : fs::recursive_directory_iterator(d, ec)) {
        if (!f.is_regular_file()) continue;
        std::ifstream in(f.path(), std::ios::binary);
        all.append(std::istreambuf_iterator<char>(in), {});
      }
    }
    return all;
  }

 private:
  TempDir dir_{"store"};
  std::optional<simkyc::test::PgDatabases> pg_;
  std::string audited_;
  int n_ = 0;
};

void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::kSqlite ? "SQLite" : "PostgreSQL"); }

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "SQLite" : "Postgres";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);

}  // namespace

TEST_P(StoreTest, MigrationsAreIdempotent) {
  const std::string db = fresh();
  {
    auto st = must_open(db);
    ASSERT_TRUE(st);
    ApiKeyRecord k{"k1", hash_hex("secret"), "op1", Role::kAdmin, kNow, false};
    ASSERT_TRUE(st->add_key(k, "test").ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto st = must_open(db);
    ASSERT_TRUE(st);
    auto k = st->find_key("k1");
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(k->has_value());
    EXPECT_EQ((*k)->operator_id, "op1");
    EXPECT_EQ((*k)->role, Role::kAdmin);
  }
  EXPECT_EQ(value(db, "SELECT COUNT(*) FROM schema_migrations"),
            value(db, "SELECT MAX(version) FROM schema_migrations"));
  EXPECT_EQ(value(db, "SELECT MAX(version) FROM schema_migrations"), "2");   // the same version in both stores
  if (sqlite()) {
    EXPECT_EQ(value(db, "PRAGMA journal_mode"), "wal");
    // The database holds sealed personal data: owner-only.
    EXPECT_EQ(fs::status(db).permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  }
}

TEST_P(StoreTest, RefusesANewerSchema) {
  const std::string db = fresh();
  ASSERT_TRUE(must_open(db));
  exec(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  auto st = simkyc::open_store(db);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().reason, Reason::kStoreError);
}

TEST_P(StoreTest, KeysAddFindRevoke) {
  auto st = must_open(fresh());
  ApiKeyRecord k{"abc123", hash_hex("s3cret"), "op1", Role::kAuditor, kNow, false};
  ASSERT_TRUE(st->add_key(k, "cli").ok());
  EXPECT_FALSE(st->add_key(k, "cli").ok());   // duplicate id
  auto found = st->find_key("abc123");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->secret_hash, hash_hex("s3cret"));
  EXPECT_EQ((*found)->role, Role::kAuditor);
  EXPECT_FALSE((*found)->revoked);
  auto none = st->find_key("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(st->revoke_key("abc123", "cli").ok());
  EXPECT_TRUE((*st->find_key("abc123"))->revoked);
  EXPECT_TRUE(st->revoke_key("abc123", "cli").ok());
  auto missing = st->revoke_key("nope", "cli");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().reason, Reason::kNotFound);

  const auto log = all_audit(*st, "op1");
  ASSERT_EQ(log.size(), 2u);   // create, one revoke (the second revoke changed nothing)
  EXPECT_EQ(log[0].action, "key.create");
  EXPECT_EQ(log[0].subject, "abc123");
  EXPECT_EQ(log[1].action, "key.revoke");
  EXPECT_EQ(log[0].details_json.find(hash_hex("s3cret")), std::string::npos);
  EXPECT_EQ(to_string(Role::kClerk), "clerk");
  EXPECT_EQ(role_from_string("admin"), Role::kAdmin);
  EXPECT_FALSE(role_from_string("root").has_value());
}

TEST_P(StoreTest, SessionsAreIsolatedByOperator) {
  auto st = must_open(fresh());
  auto s = session("opA", "sess-1");
  ASSERT_TRUE(st->create_session(s).ok());
  EXPECT_FALSE(st->create_session(s).ok());   // duplicate id

  auto mine = st->get_session("opA", "sess-1");
  ASSERT_TRUE(mine.ok() && mine->has_value());
  EXPECT_EQ((*mine)->channel, "counter");
  EXPECT_EQ((*mine)->nonce, s.nonce);
  EXPECT_EQ((*mine)->expires, s.expires);
  EXPECT_EQ((*mine)->challenge_json, s.challenge_json);
  EXPECT_EQ((*mine)->state, "open");
  EXPECT_FALSE((*mine)->consent_at.has_value());

  auto theirs = st->get_session("opB", "sess-1");
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->has_value());
  EXPECT_EQ(st->record_consent("opB", "sess-1", "v1", kNow, "k").error().reason, Reason::kNotFound);
  auto other = s;
  other.operator_id = "opB";
  other.id_hash = "h";
  EXPECT_EQ(st->save_document(other).error().reason, Reason::kNotFound);
  other.decision = "PASS";
  EXPECT_EQ(st->save_decision(other, "k").error().reason, Reason::kNotFound);

  ASSERT_TRUE(st->record_consent("opA", "sess-1", "v2", kNow + 5, "k").ok());
  mine = st->get_session("opA", "sess-1");
  EXPECT_EQ((*mine)->consent_at, kNow + 5);
  EXPECT_EQ((*mine)->consent_version, "v2");
  EXPECT_TRUE(all_audit(*st, "opB").empty());
  ASSERT_EQ(all_audit(*st, "opA").size(), 1u);
  EXPECT_EQ(all_audit(*st, "opA")[0].action, "consent");
}

TEST_P(StoreTest, DecisionIsSavedOnceAndReviewOpensAnItem) {
  auto st = must_open(fresh());
  const std::string h = test_vault().keyed_hash(kIdNumber, "id");
  decided_session(*st, "op1", "sess-r", h, "REVIEW");

  auto s = st->get_session("op1", "sess-r");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->state, "decided");
  EXPECT_EQ((*s)->decision, "REVIEW");
  EXPECT_EQ((*s)->score, 0.71);
  EXPECT_EQ((*s)->id_hash, h);
  EXPECT_EQ(*test_vault().open((*s)->id_sealed, "id:sess-r"), kIdNumber);
  EXPECT_FALSE((*s)->template_sealed.empty());
  EXPECT_EQ((*s)->decided_at, kNow + 30);

  auto again = **s;
  again.decision = "PASS";
  auto r = st->save_decision(again, "k_clerk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kSessionDecided);
  EXPECT_EQ(st->save_document(again).error().reason, Reason::kSessionDecided);
  EXPECT_EQ((*st->get_session("op1", "sess-r"))->decision, "REVIEW");

  auto reviews = st->list_reviews("op1", "open");
  ASSERT_TRUE(reviews.ok());
  ASSERT_EQ(reviews->size(), 1u);
  EXPECT_EQ((*reviews)[0].session_id, "sess-r");
  EXPECT_EQ((*reviews)[0].status, "open");
  EXPECT_TRUE(st->list_reviews("op2", "").value().empty());

  auto bad = session("op1", "sess-bad");
  ASSERT_TRUE(st->create_session(bad).ok());
  bad.decision = "MAYBE";
  EXPECT_FALSE(st->save_decision(bad, "k").ok());

  // The decision's audit entry carries the score (auditors read it) but no personal data.
  const auto log = all_audit(*st, "op1");
  const auto decision = std::find_if(log.begin(), log.end(), [](const AuditEntry& e) { return e.action == "decision"; });
  ASSERT_NE(decision, log.end());
  EXPECT_EQ(decision->subject, "sess-r");
  const auto d = nlohmann::json::parse(decision->details_json);
  EXPECT_EQ(d["decision"], "REVIEW");
  EXPECT_DOUBLE_EQ(d["score"].get<double>(), 0.71);
  EXPECT_EQ(d["reasons"][0], "MATCH_BORDERLINE");
  EXPECT_EQ(decision->details_json.find(kIdNumber), std::string::npos);
}

TEST_P(StoreTest, TemplateIsWrittenAsGiven) {
  auto st = must_open(fresh());
  auto s = session("op1", "sess-t");
  ASSERT_TRUE(st->create_session(s).ok());
  s.id_hash = "h1";
  s.template_sealed = test_vault().seal("template", "portrait:sess-t");
  ASSERT_TRUE(st->save_document(s).ok());
  EXPECT_EQ(st->get_session("op1", "sess-t").value()->template_sealed, s.template_sealed);
  // Deciding with an empty template drops the stored one (templates_days == 0).
  s.template_sealed.clear();
  s.decision = "FAIL";
  s.reasons_json = R"(["MATCH_BELOW_THRESHOLD"])";
  ASSERT_TRUE(st->save_decision(s, "k").ok());
  const auto after = st->get_session("op1", "sess-t").value();
  EXPECT_TRUE(after->template_sealed.empty());
  EXPECT_EQ(after->id_hash, "h1");
  EXPECT_TRUE(st->list_reviews("op1", "").value().empty());
}

TEST_P(StoreTest, RegistrationLimitHoldsUnder16ConcurrentThreads) {
  for (int round = 0; round < 5; ++round) {
    auto st = must_open(fresh());
    ASSERT_TRUE(st);
    const std::string h = test_vault().keyed_hash(kIdNumber, "id");
    constexpr int kThreads = 16;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<Reason> outcome(kThreads, Reason::kInternal);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&, i] {
        const auto reg = registration("op1", h, "+86138000000" + std::to_string(10 + i));
        ++ready;
        while (!go) std::this_thread::yield();
        auto r = st->register_number(reg, 5, "k_clerk");
        outcome[i] = r.ok() ? Reason::kOk : r.error().reason;
      });
    while (ready < kThreads) std::this_thread::yield();
    go = true;
    for (auto& t : threads) t.join();
    int ok = 0, limited = 0;
    for (Reason r : outcome) {
      ok += r == Reason::kOk;
      limited += r == Reason::kNumberLimitReached;
    }
    EXPECT_EQ(ok, 5) << "round " << round;
    EXPECT_EQ(limited, kThreads - 5) << "round " << round;
    EXPECT_EQ(st->list_registrations("op1", h).value().size(), 5u);
    auto chain = st->verify_audit();
    ASSERT_TRUE(chain.ok());
    EXPECT_TRUE(chain->ok) << chain->problem;
    EXPECT_EQ(chain->entries, 5);
  }
}

TEST_P(StoreTest, RegistrationLimitHoldsUnder16ConcurrentProcesses) {
  const std::string db = fresh();
  { ASSERT_TRUE(must_open(db)); }   // create and migrate once; children open their own stores
  const std::string h = test_vault().keyed_hash(kIdNumber, "id");
  constexpr int kProcs = 16;
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) > 0) {
      }   // wait until the parent closes the pipe: all start together
      auto st = simkyc::open_store(db);
      if (!st) ::_exit(3);
      auto r = (*st)->register_number(registration("op1", h, "+861390000" + std::to_string(1000 + i)), 5, "proc");
      const int code = r.ok() ? 0 : r.error().reason == Reason::kNumberLimitReached ? 1 : 2;
      st->reset();
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  int ok = 0, limited = 0, other = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ok += code == 0;
    limited += code == 1;
    other += code != 0 && code != 1;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, kProcs - 5);
  EXPECT_EQ(other, 0);
  auto st = must_open(db);
  EXPECT_EQ(st->list_registrations("op1", h).value().size(), 5u);
  EXPECT_TRUE(st->verify_audit().value().ok);
}

TEST_P(StoreTest, DuplicateNumberIsRefusedPerOperator) {
  auto st = must_open(fresh());
  const auto r1 = st->register_number(registration("op1", "idhash-1", kPhone), 5, "k");
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(r1->id.empty());
  EXPECT_TRUE(r1->active);
  auto dup = st->register_number(registration("op1", "idhash-2", kPhone), 5, "k");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().reason, Reason::kNumberAlreadyRegistered);
  dup = st->register_number(registration("op1", "idhash-1", kPhone), 5, "k");
  EXPECT_EQ(dup.error().reason, Reason::kNumberAlreadyRegistered);
  // Another operator's number space is its own.
  EXPECT_TRUE(st->register_number(registration("op2", "idhash-2", kPhone), 5, "k").ok());
  EXPECT_EQ(all_audit(*st, "op1").size(), 1u);
}

TEST_P(StoreTest, ListAndFindRegistrations) {
  auto st = must_open(fresh());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(st->register_number(registration("op1", "h1", "+8613800000" + std::to_string(100 + i)), 5, "k").ok());
  ASSERT_TRUE(st->register_number(registration("op1", "h2", "+8613900000100"), 5, "k").ok());
  ASSERT_TRUE(st->register_number(registration("op2", "h1", "+8613900000200"), 5, "k").ok());

  auto list = st->list_registrations("op1", "h1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  for (const auto& r : *list) {
    EXPECT_EQ(r.operator_id, "op1");
    EXPECT_EQ(r.id_hash, "h1");
    const auto number = test_vault().open(r.number_sealed, "phone");
    ASSERT_TRUE(number.ok());
    EXPECT_EQ(test_vault().keyed_hash(*number, "phone"), r.number_hash);
  }
  EXPECT_EQ(st->list_registrations("op2", "h1").value().size(), 1u);
  EXPECT_TRUE(st->list_registrations("op3", "h1").value().empty());

  const auto nh = test_vault().keyed_hash("+8613900000100", "phone");
  auto found = st->find_registration_by_number("op1", nh);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id_hash, "h2");
  EXPECT_EQ(*test_vault().open((*found)->number_sealed, "phone"), "+8613900000100");
  EXPECT_FALSE(st->find_registration_by_number("op2", nh).value().has_value());

  // The limit counts per operator.
  EXPECT_TRUE(st->register_number(registration("op1", "h1", "+8613800000103"), 4, "k").ok());
  auto over = st->register_number(registration("op1", "h1", "+8613800000104"), 4, "k");
  EXPECT_EQ(over.error().reason, Reason::kNumberLimitReached);
}

TEST_P(StoreTest, ReviewResolveAndDoubleResolve) {
  auto st = must_open(fresh());
  decided_session(*st, "op1", "sess-1", "h1", "REVIEW");
  const auto open = st->list_reviews("op1", "open").value();
  ASSERT_EQ(open.size(), 1u);
  const std::string rid = open[0].id;

  EXPECT_EQ(st->resolve_review("op2", rid, "PASS", "", "k2", kNow).error().reason, Reason::kNotFound);
  EXPECT_EQ(st->resolve_review("op1", "nope", "PASS", "", "k2", kNow).error().reason, Reason::kNotFound);
  EXPECT_FALSE(st->resolve_review("op1", rid, "MAYBE", "", "k2", kNow).ok());

  auto r = st->resolve_review("op1", rid, "PASS", "photos match on a closer look", "k_super", kNow + 100);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, "resolved");
  EXPECT_EQ(r->resolution, "PASS");
  EXPECT_EQ(r->resolved_by, "k_super");
  EXPECT_EQ(r->resolved_at, kNow + 100);
  EXPECT_EQ((*st->get_session("op1", "sess-1"))->decision, "PASS");

  auto twice = st->resolve_review("op1", rid, "FAIL", "", "k_super", kNow + 200);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().reason, Reason::kReviewResolved);
  EXPECT_TRUE(st->list_reviews("op1", "open").value().empty());
  const auto resolved = st->list_reviews("op1", "resolved").value();
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].comment, "photos match on a closer look");
  EXPECT_EQ(st->list_reviews("op1", "").value().size(), 1u);

  const auto log = all_audit(*st, "op1");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().action, "review.resolve");
  EXPECT_EQ(log.back().subject, rid);
  // Issue 14: the reviewer's comment is in the audit entry (an auditor must see why).
  EXPECT_NE(log.back().details_json.find("closer look"), std::string::npos);
}

// Issue 14: the Store methods added for releasing numbers, locks and the operator chain.
TEST_P(StoreTest, ReleaseLocksConsentAndOperatorChain) {
  auto st = must_open(fresh());
  ASSERT_TRUE(st);
  decided_session(*st, "op1", "s1", "h1", "PASS");
  auto reg = st->register_number(registration("op1", "h1", "n1"), 1, "k");
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(st->register_number(registration("op1", "h1", "n2"), 1, "k").error().reason, Reason::kNumberLimitReached);
  EXPECT_EQ(st->release_registration("op2", reg->id, "k", kNow).error().reason, Reason::kNotFound);
  ASSERT_TRUE(st->release_registration("op1", reg->id, "k", kNow).ok());
  EXPECT_EQ(st->release_registration("op1", reg->id, "k", kNow).error().reason, Reason::kNotFound);
  EXPECT_TRUE(st->register_number(registration("op1", "h1", "n2"), 1, "k").ok());
  // Consent is recorded once.
  ASSERT_TRUE(st->create_session(session("op1", "s2")).ok());
  ASSERT_TRUE(st->record_consent("op1", "s2", "v1", kNow, "k").ok());
  ASSERT_TRUE(st->record_consent("op1", "s2", "v1", kNow + 9, "k").ok());
  EXPECT_EQ(st->get_session("op1", "s2").value()->consent_at, kNow);
  // Failures: last time, clearing by prefix with one audit entry.
  ASSERT_TRUE(st->record_failure("id:op1:h1", kNow).ok());
  ASSERT_TRUE(st->record_failure("id:op1:h1:dev:d", kNow + 3).ok());
  ASSERT_TRUE(st->record_failure("lock:id:op1:h1", kNow + 4).ok());
  ASSERT_TRUE(st->record_failure("id:op1:h2", kNow + 5).ok());
  EXPECT_EQ(*st->last_failure("lock:id:op1:h1").value(), kNow + 4);
  EXPECT_FALSE(st->last_failure("lock:id:op1:h9").value().has_value());
  EXPECT_EQ(st->clear_failures("op1", {"id:op1:h1", "lock:id:op1:h1"}, "h1", "k").value(), 3);
  EXPECT_EQ(st->count_failures("id:op1:h2", 0).value(), 1);
  // Each operator's entries: op_seq 1..n and a chain that verifies; the global chain too.
  ASSERT_TRUE(st->create_session(session("op2", "s3")).ok());
  ASSERT_TRUE(st->record_consent("op2", "s3", "v1", kNow, "k").ok());
  const auto log = all_audit(*st, "op1");
  EXPECT_EQ(std::count_if(log.begin(), log.end(), [](const AuditEntry& e) { return e.action == "consent" && e.subject == "s2"; }), 1);
  EXPECT_EQ(std::count_if(log.begin(), log.end(), [](const AuditEntry& e) { return e.action == "registration.release"; }), 1);
  EXPECT_EQ(std::count_if(log.begin(), log.end(), [](const AuditEntry& e) { return e.action == "lock.clear"; }), 1);
  for (std::size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].op_seq, static_cast<std::int64_t>(i + 1));
  EXPECT_TRUE(registry_detail::verify_operator_chain(log).ok);
  EXPECT_TRUE(registry_detail::verify_operator_chain(all_audit(*st, "op2")).ok);
  EXPECT_TRUE(st->verify_audit().value().ok);
  auto edited = log;
  edited[1].details_json = "{}";
  EXPECT_FALSE(registry_detail::verify_operator_chain(edited).ok);
  edited = log;
  edited.erase(edited.begin() + 1);
  EXPECT_FALSE(registry_detail::verify_operator_chain(edited).ok);
}

TEST_P(StoreTest, FailuresAreCountedInAWindow) {
  auto st = must_open(fresh());
  for (std::int64_t t : {100, 150, 200, 250}) ASSERT_TRUE(st->record_failure("device:d1", kNow + t).ok());
  ASSERT_TRUE(st->record_failure("id:h1", kNow + 200).ok());
  EXPECT_EQ(st->count_failures("device:d1", kNow + 150).value(), 3);
  EXPECT_EQ(st->count_failures("device:d1", kNow + 251).value(), 0);
  EXPECT_EQ(st->count_failures("device:d1", 0).value(), 4);
  EXPECT_EQ(st->count_failures("id:h1", kNow).value(), 1);
  EXPECT_EQ(st->count_failures("device:d2", 0).value(), 0);
}

TEST_P(StoreTest, DeleteSubjectRemovesTheirDataAndLeavesAnAuditEntry) {
  const std::string db = fresh();
  auto st = must_open(db);
  const std::string h = test_vault().keyed_hash(kIdNumber, "id");
  decided_session(*st, "op1", "s-pass", h, "PASS");
  decided_session(*st, "op1", "s-review", h, "REVIEW");
  decided_session(*st, "op1", "s-other", "someone-else", "PASS");
  decided_session(*st, "op2", "s-op2", h, "PASS");
  ASSERT_TRUE(st->register_number(registration("op1", h, kPhone, "s-pass"), 5, "k").ok());
  ASSERT_TRUE(st->register_number(registration("op2", h, kPhone, "s-op2"), 5, "k").ok());

  auto n = st->delete_subject("op1", h, "k_admin");
  ASSERT_TRUE(n.ok()) << n.error().describe();
  EXPECT_EQ(*n, 4);   // 2 sessions, 1 registration, 1 review
  EXPECT_FALSE(st->get_session("op1", "s-pass").value().has_value());
  EXPECT_FALSE(st->get_session("op1", "s-review").value().has_value());
  EXPECT_TRUE(st->list_registrations("op1", h).value().empty());
  EXPECT_TRUE(st->list_reviews("op1", "").value().empty());
  // Other subjects and other operators are untouched.
  EXPECT_TRUE(st->get_session("op1", "s-other").value().has_value());
  EXPECT_TRUE(st->get_session("op2", "s-op2").value().has_value());
  EXPECT_EQ(st->list_registrations("op2", h).value().size(), 1u);

  const auto log = all_audit(*st, "op1");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().action, "subject.delete");
  EXPECT_EQ(log.back().subject, h);
  EXPECT_EQ(log.back().actor, "k_admin");
  EXPECT_TRUE(st->verify_audit().value().ok);
  EXPECT_EQ(value(db, "SELECT COUNT(*) FROM sessions WHERE id_hash = '" + h + "' AND operator_id = 'op1'"), "0");
}

TEST_P(StoreTest, PurgeDeletesWhatIsPastRetention) {
  auto st = must_open(fresh());
  const std::int64_t old = kNow - 100 * kDay;
  decided_session(*st, "op1", "old-unregistered", "h1", "FAIL", old);
  decided_session(*st, "op1", "old-review", "h1", "REVIEW", old);
  decided_session(*st, "op1", "old-registered", "h2", "PASS", old);
  ASSERT_TRUE(st->register_number(registration("op1", "h2", kPhone, "old-registered"), 5, "k").ok());
  decided_session(*st, "op1", "recent", "h3", "PASS", kNow - kDay);
  auto open_sess = session("op1", "recent-open", kNow - 60);
  ASSERT_TRUE(st->create_session(open_sess).ok());
  ASSERT_TRUE(st->record_failure("device:d1", kNow - 2 * kDay).ok());
  const auto entries_before = st->verify_audit().value().entries;

  RetentionPolicy p;   // 90 days for sessions, templates dropped once decided
  auto rep = st->purge(p, kNow, "cli");
  ASSERT_TRUE(rep.ok()) << rep.error().describe();
  EXPECT_EQ(rep->sessions, 2);   // the old unregistered ones
  EXPECT_EQ(rep->templates, 2);  // templates of old-registered and recent
  EXPECT_FALSE(st->get_session("op1", "old-unregistered").value().has_value());
  EXPECT_FALSE(st->get_session("op1", "old-review").value().has_value());
  EXPECT_TRUE(st->list_reviews("op1", "").value().empty());
  const auto kept = st->get_session("op1", "old-registered").value();
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->template_sealed.empty());
  EXPECT_FALSE(kept->id_sealed.empty());
  EXPECT_TRUE(st->get_session("op1", "recent").value()->template_sealed.empty());
  EXPECT_TRUE(st->get_session("op1", "recent-open").value().has_value());
  EXPECT_EQ(st->count_failures("device:d1", 0).value(), 0);

  auto check = st->verify_audit().value();
  EXPECT_TRUE(check.ok);
  EXPECT_EQ(check.entries, entries_before + 1);
  const auto log = all_audit(*st, "");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].action, "purge");

  // Nothing left to purge: no new entry.
  rep = st->purge(p, kNow, "cli");
  EXPECT_EQ(rep->sessions, 0);
  EXPECT_EQ(rep->templates, 0);
  EXPECT_EQ(st->verify_audit().value().entries, entries_before + 1);

  // Templates kept for templates_days after the decision.
  decided_session(*st, "op1", "fresh", "h4", "PASS", kNow - 3 * kDay);
  p.templates_days = 7;
  EXPECT_EQ(st->purge(p, kNow, "cli").value().templates, 0);
  p.templates_days = 2;
  EXPECT_EQ(st->purge(p, kNow, "cli").value().templates, 1);
  p.sessions_days = -1;
  EXPECT_FALSE(st->purge(p, kNow, "cli").ok());
}

TEST_P(StoreTest, NoPlaintextPersonalDataInTheFile) {
  const std::string db = fresh();
  {
    auto st = must_open(db);
    const std::string h = test_vault().keyed_hash(kIdNumber, "id");
    decided_session(*st, "op1", "s1", h, "PASS");
    ASSERT_TRUE(st->register_number(registration("op1", h, kPhone, "s1"), 5, "k").ok());
  }
  const std::string bytes = disk_bytes(db);
  ASSERT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find(kIdNumber), std::string::npos);
  EXPECT_EQ(bytes.find(kPhone), std::string::npos);
  EXPECT_EQ(bytes.find("13800138000"), std::string::npos);
}

// ---- audit chain ---------------------------------------------------------------------------------

namespace {

// A store with a varied audit log of 10 entries (closed again, so the file alone holds it).
void build_audited_store(const std::string& db) {
  auto st = must_open(db);
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->add_key({"k1", hash_hex("a"), "op1", Role::kClerk, kNow, false}, "cli").ok());   // 1
  ASSERT_TRUE(st->add_key({"k2", hash_hex("b"), "op2", Role::kAuditor, kNow, false}, "cli").ok());  // 2
  decided_session(*st, "op1", "s1", "h1", "PASS");      // 3 consent, 4 decision
  decided_session(*st, "op1", "s2", "h2", "REVIEW");    // 5 consent, 6 decision
  ASSERT_TRUE(st->register_number(registration("op1", "h1", kPhone, "s1"), 5, "k1").ok());   // 7
  const auto rid = st->list_reviews("op1", "open").value().at(0).id;
  ASSERT_TRUE(st->resolve_review("op1", rid, "FAIL", "", "k1", kNow).ok());                  // 8
  ASSERT_TRUE(st->revoke_key("k2", "cli").ok());                                             // 9
  AuditEntry e;
  e.operator_id = "op1";
  e.actor = "cli";
  e.action = "note";
  e.subject = "maintenance";
  e.details_json = R"({"text":"x"})";
  ASSERT_TRUE(st->append_audit(e).ok());                                                      // 10
}

ChainCheck verify_file(const std::string& db) {
  auto st = must_open(db);
  if (!st) return {};
  auto c = st->verify_audit();
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : ChainCheck{};
}

}  // namespace

TEST_P(StoreTest, AuditChainOfAFreshStoreVerifies) {
  const std::string db = fresh();
  auto empty = verify_file(db);
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.entries, 0);
  build_audited_store(db);
  auto c = verify_file(db);
  EXPECT_TRUE(c.ok) << c.problem;
  EXPECT_EQ(c.entries, 10);
  EXPECT_FALSE(c.first_bad_seq.has_value());

  auto st = must_open(db);
  const auto log = all_audit(*st, "op1");
  ASSERT_EQ(log.size(), 8u);   // op2's key.create and key.revoke are not op1's
  EXPECT_EQ(log[0].seq, 1);
  EXPECT_EQ(log[0].prev_hash, std::string(64, '0'));
  for (std::size_t i = 0; i < log.size(); ++i)
    EXPECT_EQ(log[i].hash, registry_detail::audit_entry_hash(log[i].prev_hash, log[i]));
  EXPECT_EQ(st->list_audit("op1", 6, 2).value().size(), 2u);
  EXPECT_EQ(st->list_audit("op1", 6, 2).value()[0].seq, 7);
  EXPECT_EQ(all_audit(*st, "op2").size(), 2u);
}

TEST_P(StoreTest, AuditVerifyFindsAnEditedRow) {
  const auto db = audited_copy();
  exec(db, R"(UPDATE audit SET details_json = '{"decision":"PASS"}' WHERE seq = 6)");
  auto c = verify_file(db);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 6);
  EXPECT_NE(c.problem.find("6"), std::string::npos);

  // Any field: the actor, the time, the operator.
  for (const std::string set : {"actor = 'someone'", "ts = ts + 1", "operator_id = 'op2'", "action = 'x'",
                                "subject = 's9'"}) {
    const auto p = audited_copy();
    exec(p, "UPDATE audit SET " + set + " WHERE seq = 3");
    EXPECT_EQ(verify_file(p).first_bad_seq, 3) << set;
  }
}

TEST_P(StoreTest, AuditVerifyFindsAnEditedRowWhoseHashWasRecomputed) {
  const auto db = audited_copy();
  auto rows = this->rows(db, "SELECT seq, ts, operator_id, actor, action, subject, prev_hash FROM audit WHERE seq = 4");
  ASSERT_EQ(rows.size(), 1u);
  AuditEntry e;
  e.seq = 4;
  e.ts = std::stoll(rows[0][1]);
  e.operator_id = rows[0][2];
  e.actor = rows[0][3];
  e.action = rows[0][4];
  e.subject = rows[0][5];
  e.details_json = R"({"decision":"PASS","score":0.99})";
  const auto h = registry_detail::audit_entry_hash(rows[0][6], e);
  exec(db, "UPDATE audit SET details_json = '" + e.details_json + "', hash = '" + h + "' WHERE seq = 4");
  auto c = verify_file(db);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 5);   // entry 5 no longer links to entry 4
}

TEST_P(StoreTest, AuditVerifyFindsADeletedRow) {
  const auto db = audited_copy();
  exec(db, "DELETE FROM audit WHERE seq = 5");
  auto c = verify_file(db);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 5);
  EXPECT_EQ(c.entries, 9);
  EXPECT_NE(c.problem.find("missing"), std::string::npos) << c.problem;

  const auto first = audited_copy();
  exec(first, "DELETE FROM audit WHERE seq = 1");
  EXPECT_EQ(verify_file(first).first_bad_seq, 1);

  // Removing entries from the end is noticed too (the chain head remembers the last entry).
  const auto tail = audited_copy();
  exec(tail, "DELETE FROM audit WHERE seq >= 9");
  auto t = verify_file(tail);
  EXPECT_FALSE(t.ok);
  EXPECT_EQ(t.first_bad_seq, 9);

  // Renumbering after a deletion breaks the links instead.
  const auto renum = audited_copy();
  exec(renum, "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = seq - 1 WHERE seq > 5;");
  EXPECT_EQ(verify_file(renum).first_bad_seq, 5);
}

TEST_P(StoreTest, AuditVerifyFindsSwappedRows) {
  const auto db = audited_copy();
  // Swap every column except seq between entries 4 and 7.
  const std::string cols[] = {"ts", "operator_id", "actor", "action", "subject", "details_json", "prev_hash", "hash"};
  std::string set4, set7;
  for (const auto& c : cols) {
    set4 += (set4.empty() ? "" : ", ") + c + " = (SELECT " + c + " FROM audit_copy WHERE seq = 7)";
    set7 += (set7.empty() ? "" : ", ") + c + " = (SELECT " + c + " FROM audit_copy WHERE seq = 4)";
  }
  exec(db, "CREATE TEMP TABLE audit_copy AS SELECT * FROM audit; "
               "UPDATE audit SET " + set4 + " WHERE seq = 4; UPDATE audit SET " + set7 + " WHERE seq = 7;");
  ASSERT_EQ(value(db, "SELECT action FROM audit WHERE seq = 4"), "registration");
  auto c = verify_file(db);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 4);
  EXPECT_EQ(c.entries, 10);
}

TEST_P(StoreTest, AuditAppendsStayChainedUnderConcurrency) {
  const std::string db = fresh();
  auto st = must_open(db);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        AuditEntry e;
        e.operator_id = "op" + std::to_string(t % 2);
        e.actor = "t" + std::to_string(t);
        e.action = "note";
        e.subject = std::to_string(i);
        EXPECT_TRUE(st->append_audit(e).ok());
      }
    });
  for (auto& t : threads) t.join();
  auto c = st->verify_audit().value();
  EXPECT_TRUE(c.ok) << c.problem;
  EXPECT_EQ(c.entries, 160);
}

TEST(StoreLocation, PostgresUrlsAreRecognisedAndRedacted) {
  EXPECT_TRUE(is_postgres_url("postgres://u@h/db"));
  EXPECT_TRUE(is_postgres_url("postgresql://u@h:5432/db?sslmode=require"));
  EXPECT_FALSE(is_postgres_url("/var/lib/simkyc/simkyc.db"));
  EXPECT_FALSE(is_postgres_url("postgres.db"));
  EXPECT_EQ(redact_location("postgresql://simkyc:s3cret@db:5432/simkyc"), "postgresql://simkyc:***@db:5432/simkyc");
  EXPECT_EQ(redact_location("postgres://u@h/db?sslmode=require&password=s3cret&x=1"),
            "postgres://u@h/db?sslmode=require&password=***&x=1");
  EXPECT_EQ(redact_location("/tmp/a:b@c.db"), "/tmp/a:b@c.db");   // a file path is left alone
  // An unreachable database is a clear error (nothing listens on port 1), not a hang or a crash.
  auto st = simkyc::open_store("postgresql://simkyc@127.0.0.1:1/simkyc?connect_timeout=2");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().reason, Reason::kStoreUnavailable) << st.error().describe();
  auto bad = simkyc::open_store("postgresql://simkyc@127.0.0.1:1/simkyc?pool_size=0");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, Reason::kConfigError);
}
