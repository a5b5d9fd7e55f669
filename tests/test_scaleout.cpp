// Scale-out (issue 15): several `simkyc serve` processes on one real PostgreSQL, with parallel
// clients registering numbers for the same IDs over HTTP; one server killed (SIGKILL) mid-burst;
// the database stopped and started under a running server.  Talks only to 127.0.0.1.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "pg_test_cluster.h"
#include "registry/crypto.h"
#include "registry/store.h"
#include "test_helpers.h"

using nlohmann::json;
using namespace simkyc;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMasterKey = "5c0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr int kLimit = 5;

std::string bin() { return std::string(SIMKYC_BINARY) + " --models " + SIMKYC_MODEL_DIR; }

// A `simkyc serve` child on a free loopback port, on the given store, with the shared data key.
class ServeProcess {
 public:
  ServeProcess(const fs::path& dir, const std::string& store) : dir_(dir), store_(store) {
    fs::create_directories(dir);
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    const std::string log = (dir / "server.log").string();
    std::vector<std::string> args = {SIMKYC_BINARY, "--models", SIMKYC_MODEL_DIR, "--log-level", "info", "serve",
                                     "--listen", "127.0.0.1:0", "--store", store, "--threads", "8", "--web", ""};
    std::vector<std::string> env = {std::string("SIMKYC_MASTER_KEY=") + kMasterKey, "HOME=" + dir.string()};
    if (const char* p = std::getenv("PATH")) env.push_back(std::string("PATH=") + p);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      ::close(out[0]);
      ::execve(SIMKYC_BINARY, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    const auto p = line.find("127.0.0.1:");
    if (p == std::string::npos) throw std::runtime_error("server did not start: " + line + "\n" + this->log());
    port_ = std::stoi(line.substr(p + 10));
  }
  ~ServeProcess() { kill(SIGTERM); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  void kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream f(dir_ / "server.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  fs::path dir_;
  std::string store_;
  pid_t pid_ = -1;
  int port_ = 0;
};

struct Reply {
  int status = -1;   // -1: no HTTP answer (connection refused or reset)
  json body;
};

Reply post(int port, const std::string& key, const std::string& path, const json& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(60, 0);
  c.set_default_headers({{"Authorization", "Bearer " + key}});
  auto r = c.Post(path.c_str(), body.dump(), "application/json");
  if (!r) return {};
  return {r->status, json::parse(r->body, nullptr, false)};
}

Reply get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);
  auto r = c.Get(path.c_str());
  if (!r) return {};
  return {r->status, json::parse(r->body, nullptr, false)};
}

std::string make_key(const std::string& store) {
  const auto r = simkyc::test::run(bin() + " keys create --store '" + store +
                                   "' --operator op1 --role clerk --json 2>/dev/null");
  const json j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(r.code, 0) << r.out;
  return j.is_object() ? j.value("key", "") : "";
}

// One registration attempt: a PASS session of subject `id_hash`, and a phone number.
struct Attempt {
  std::string session_id, id_hash, phone;
};

// Decided (PASS) sessions straight in the store, `per_id` for each of `ids` subjects: what the
// face pipeline would have left behind; the test is about what happens after it.
std::vector<Attempt> seed_sessions(const std::string& store, int ids, int per_id) {
  auto st = simkyc::open_store(store);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().describe());
  if (!st) return {};
  auto vault = Vault::from_hex(kMasterKey);
  std::vector<Attempt> out;
  int n = 0;
  for (int i = 0; i < ids; ++i) {
    const std::string id_hash = vault->keyed_hash("1101051949123100" + std::to_string(10 + i), "id");
    for (int k = 0; k < per_id; ++k, ++n) {
      SessionRecord s;
      s.id = "s_" + random_hex(10);
      s.operator_id = "op1";
      s.channel = "counter";
      s.created = static_cast<std::int64_t>(std::time(nullptr));
      s.expires = s.created + 3600;
      EXPECT_TRUE((*st)->create_session(s).ok());
      s.id_hash = id_hash;
      s.id_sealed = vault->seal("1101051949123100" + std::to_string(10 + i), "id:" + s.id);
      s.document_json = R"({"kind":"resident_id","valid":true})";
      EXPECT_TRUE((*st)->save_document(s).ok());
      s.decision = "PASS";
      s.reasons_json = "[]";
      s.score = 0.9;
      s.threshold = 0.6;
      s.fmr = 1e-3;
      s.model = "test";
      EXPECT_TRUE((*st)->save_decision(s, "seed").ok());
      char phone[32];
      std::snprintf(phone, sizeof phone, "+86139%08d", 10000 + n);
      out.push_back({s.id, id_hash, phone});
    }
  }
  return out;
}

struct Outcome {
  int status = -1;
  std::string code;
  int tries = 0;
};

// Sends every attempt once, from `clients` threads, each to a random live server; an attempt
// that gets no HTTP answer (its server died) is sent again to another server, as a load balancer
// would.  after_n(k) is called (from one client thread) once k attempts have finished.
std::vector<Outcome> burst(const std::vector<Attempt>& attempts, std::vector<std::unique_ptr<ServeProcess>>& servers,
                           const std::string& key, int clients, std::atomic<bool>* dead0 = nullptr) {
  std::vector<Outcome> out(attempts.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      std::minstd_rand rng(static_cast<unsigned>(t * 7919 + 1));
      for (std::size_t i; (i = next++) < attempts.size();) {
        const Attempt& a = attempts[i];
        for (int tries = 1; tries <= 6; ++tries) {
          std::size_t s = rng() % servers.size();
          if (dead0 && *dead0 && s == 0) s = 1 + rng() % (servers.size() - 1);
          const Reply r = post(servers[s]->port(), key, "/v1/sessions/" + a.session_id + "/registrations",
                               {{"phone_number", a.phone}});
          out[i] = {r.status, r.body.is_object() ? r.body.value("code", "") : "", tries};
          if (r.status != -1) break;
        }
      }
    });
  for (auto& th : threads) th.join();
  return out;
}

std::map<std::string, int> active_per_subject(const std::string& store) {
  std::map<std::string, int> out;
  for (const auto& row : simkyc::test::pg_rows(
           store, "SELECT id_hash, COUNT(*) FROM registrations WHERE active = 1 AND operator_id = 'op1' GROUP BY id_hash"))
    out[row[0]] = std::stoi(row[1]);
  return out;
}

json audit_verify(const std::string& store, int* code) {
  const auto r = simkyc::test::run(bin() + " audit verify --store '" + store + "' --json 2>&1");
  *code = r.code;
  return json::parse(r.out, nullptr, false);
}

fs::path temp(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("simkyc-scaleout-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

}  // namespace

TEST(ScaleOutPostgres, ThreeServersKeepTheLimitAndOneAuditChain) {
  const auto* cluster = simkyc::test::shared_pg_cluster();
  ASSERT_NE(cluster, nullptr);
  simkyc::test::PgDatabases dbs(cluster);
  const std::string store = dbs.fresh();
  const std::string key = make_key(store);
  ASSERT_FALSE(key.empty());
  constexpr int kIds = 4, kPerId = 12;
  auto attempts = seed_sessions(store, kIds, kPerId);
  ASSERT_EQ(attempts.size(), static_cast<std::size_t>(kIds * kPerId));
  // Interleave the subjects, so every server sees concurrent attempts for the same IDs.
  std::shuffle(attempts.begin(), attempts.end(), std::minstd_rand(42));
  // A few attempts at a number another subject is registering at the same time.
  for (int i = 0; i < 6; ++i) {
    Attempt dup = attempts[attempts.size() - 1 - i];   // another session (maybe of another subject) ...
    dup.phone = attempts[i].phone;                     // ... with attempt i's number
    attempts.insert(attempts.begin() + 2 * i + 1, dup);
  }

  const fs::path dir = temp("three");
  std::vector<std::unique_ptr<ServeProcess>> servers;
  for (int i = 0; i < 3; ++i) servers.push_back(std::make_unique<ServeProcess>(dir / std::to_string(i), store));
  const auto out = burst(attempts, servers, key, 12);

  std::map<std::string, int> created;
  int limited = 0, taken = 0, other = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].status == 201) ++created[attempts[i].id_hash];
    else if (out[i].status == 409 && out[i].code == "NUMBER_LIMIT_REACHED") ++limited;
    else if (out[i].status == 409 && out[i].code == "NUMBER_ALREADY_REGISTERED") ++taken;
    else {
      ++other;
      ADD_FAILURE() << "attempt " << i << ": HTTP " << out[i].status << " " << out[i].code;
    }
  }
  EXPECT_EQ(other, 0);
  ASSERT_EQ(created.size(), static_cast<std::size_t>(kIds));
  for (const auto& [id, n] : created) EXPECT_EQ(n, kLimit) << "subject " << id;
  EXPECT_EQ(limited + taken, static_cast<int>(attempts.size()) - kIds * kLimit);
  EXPECT_GE(limited, kIds * (kPerId - kLimit) - 6);
  for (const auto& [id, n] : active_per_subject(store)) EXPECT_EQ(n, kLimit) << "subject " << id;
  // Each server did part of the work.
  for (auto& s : servers) EXPECT_NE(s->log().find("route=/v1/sessions/{id}/registrations status=201"), std::string::npos);

  int code = -1;
  const json v = audit_verify(store, &code);
  EXPECT_EQ(code, 0) << v.dump();
  EXPECT_TRUE(v.value("ok", false)) << v.dump();
  // key.create + (decision per seeded session) + one entry per registration.
  EXPECT_EQ(v.value("entries", 0), 1 + kIds * kPerId + kIds * kLimit) << v.dump();
  // purge takes the URL too (nothing is past retention yet).
  const auto purge = simkyc::test::run(bin() + " purge --store '" + store + "' --json 2>&1");
  EXPECT_EQ(purge.code, 0) << purge.out;
  EXPECT_EQ(json::parse(purge.out, nullptr, false).value("sessions", -1), 0) << purge.out;
  fs::remove_all(dir);
}

TEST(ScaleOutPostgres, AServerKilledMidBurstLeavesTheLimitAndTheChainIntact) {
  const auto* cluster = simkyc::test::shared_pg_cluster();
  ASSERT_NE(cluster, nullptr);
  simkyc::test::PgDatabases dbs(cluster);
  const std::string store = dbs.fresh();
  const std::string key = make_key(store);
  ASSERT_FALSE(key.empty());
  constexpr int kIds = 6, kPerId = 10;
  auto attempts = seed_sessions(store, kIds, kPerId);
  std::shuffle(attempts.begin(), attempts.end(), std::minstd_rand(7));

  const fs::path dir = temp("kill");
  std::vector<std::unique_ptr<ServeProcess>> servers;
  for (int i = 0; i < 3; ++i) servers.push_back(std::make_unique<ServeProcess>(dir / std::to_string(i), store));
  std::atomic<bool> dead0{false};
  // SIGKILL server 0 once its log shows it is busy registering (and the burst is under way).
  std::thread killer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline &&
           servers[0]->log().find("route=/v1/sessions/{id}/registrations") == std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    servers[0]->kill(SIGKILL);
    dead0 = true;
  });
  const auto out = burst(attempts, servers, key, 12, &dead0);
  killer.join();
  EXPECT_FALSE(servers[0]->alive());

  int retried = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    retried += out[i].tries > 1;
    const bool fine = out[i].status == 201 ||
                      (out[i].status == 409 && (out[i].code == "NUMBER_LIMIT_REACHED" ||
                                                 out[i].code == "NUMBER_ALREADY_REGISTERED"));
    EXPECT_TRUE(fine) << "attempt " << i << ": HTTP " << out[i].status << " " << out[i].code;
  }
  // Every attempt was answered by a live server in the end, so every subject is at the limit:
  // never above it, whatever the killed server had committed or not.
  const auto active = active_per_subject(store);
  EXPECT_EQ(active.size(), static_cast<std::size_t>(kIds));
  for (const auto& [id, n] : active) EXPECT_EQ(n, kLimit) << "subject " << id;
  int code = -1;
  const json v = audit_verify(store, &code);
  EXPECT_EQ(code, 0) << v.dump();
  EXPECT_TRUE(v.value("ok", false)) << v.dump();
  EXPECT_EQ(v.value("entries", 0), 1 + kIds * kPerId + kIds * kLimit) << v.dump();
  // The survivors go on serving.
  EXPECT_EQ(get(servers[1]->port(), "/healthz").status, 200);
  std::cout << "[scaleout] attempts sent again after the kill: " << retried << "\n";
  fs::remove_all(dir);
}

TEST(ScaleOutPostgres, HealthzReportsALostDatabaseAndRecovers) {
  // A cluster of its own: this test stops and starts it.
  auto cluster = simkyc::test::start_pg_cluster("health");
  ASSERT_TRUE(cluster);
  struct Stop {
    const simkyc::test::PgCluster& c;
    ~Stop() { simkyc::test::stop_pg_cluster(c); }
  } stop{*cluster};
  const std::string store = cluster->url;
  const std::string key = make_key(store);
  ASSERT_FALSE(key.empty());
  const auto attempts = seed_sessions(store, 1, 3);
  ASSERT_EQ(attempts.size(), 3u);
  const fs::path dir = temp("health");
  ServeProcess srv(dir, store);
  const std::string reg = "/v1/sessions/" + attempts[0].session_id + "/registrations";

  auto h = get(srv.port(), "/healthz");
  EXPECT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body.value("status", ""), "ok");

  const auto halt = simkyc::test::run("bash " + simkyc::test::pg_script() + " halt " + cluster->state + " 2>&1");
  ASSERT_EQ(halt.code, 0) << halt.out;
  h = get(srv.port(), "/healthz");
  EXPECT_EQ(h.status, 503) << h.body.dump();
  EXPECT_EQ(h.body.value("status", ""), "unhealthy");
  EXPECT_EQ(h.body.value("code", ""), "STORE_UNAVAILABLE");
  EXPECT_FALSE(h.body.value("reason", "").empty());
  // A request that needs the store gets a clear 503, and the service stays up.
  const auto r = post(srv.port(), key, reg, {{"phone_number", attempts[0].phone}});
  EXPECT_EQ(r.status, 503) << r.body.dump();
  EXPECT_EQ(r.body.value("code", ""), "STORE_UNAVAILABLE") << r.body.dump();
  EXPECT_TRUE(srv.alive());

  const auto again = simkyc::test::run("bash " + simkyc::test::pg_script() + " start-again " + cluster->state + " 2>&1");
  ASSERT_EQ(again.code, 0) << again.out;
  // The first request after the restart may still meet a dead pooled connection: it is retried
  // on a new one inside the store, so the answer is already 200.
  h = get(srv.port(), "/healthz");
  EXPECT_EQ(h.status, 200) << h.body.dump();
  const auto ok = post(srv.port(), key, reg, {{"phone_number", attempts[0].phone}});
  EXPECT_EQ(ok.status, 201) << ok.body.dump();
  int code = -1;
  const json v = audit_verify(store, &code);
  EXPECT_EQ(code, 0) << v.dump();
  EXPECT_TRUE(srv.log().find("STORE_UNAVAILABLE") != std::string::npos) << "the log says why";
  fs::remove_all(dir);
}
