// A real PostgreSQL for the tests: a throw-away cluster made by tools/pg_cluster.sh (initdb into a
// temporary directory, pg_ctl start on a free 127.0.0.1 port; as root it runs as `nobody`).
//  - Under ctest the cluster is started once by the pg_cluster_start fixture, which passes its
//    state directory in SIMKYC_TEST_PG; pg_cluster_stop stops it.
//  - Run directly (./simkyc_tests --gtest_filter=*Postgres*), the binary starts its own on the
//    first test that needs it and stops it when the tests end (a gtest Environment).
// Each test gets databases of its own on the cluster (fresh_database), dropped when it ends.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#ifdef SIMKYC_HAVE_POSTGRES
#include <pqxx/pqxx>
#endif

#include "registry/crypto.h"
#include "test_helpers.h"

namespace simkyc::test {

struct PgCluster {
  std::string state;     // tools/pg_cluster.sh state directory
  std::string url;       // postgresql://simkyc@127.0.0.1:PORT/simkyc
  std::string dir;       // the cluster's directory (data/ inside)
  bool owned = false;    // started by this process (stopped by it)
};

inline std::string pg_script() { return std::string(SIMKYC_SOURCE_DIR) + "/tools/pg_cluster.sh"; }

inline std::string read_line(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::string s;
  std::getline(f, s);
  return s;
}

// Starts a private cluster (its own state directory).  Fails the test when it cannot.
inline std::optional<PgCluster> start_pg_cluster(const std::string& tag) {
  PgCluster c;
  c.state = (std::filesystem::temp_directory_path() /
             ("simkyc-pgstate-" + tag + "-" + std::to_string(::getpid()) + "-" + random_hex(4)))
                .string();
  const auto r = run("bash " + pg_script() + " start " + c.state + " 2>&1");
  if (r.code != 0) {
    ADD_FAILURE() << "cannot start a PostgreSQL test cluster (tools/pg_cluster.sh): " << r.out;
    return std::nullopt;
  }
  c.url = read_line(std::filesystem::path(c.state) / "url");
  c.dir = read_line(std::filesystem::path(c.state) / "cluster");
  c.owned = true;
  return c;
}

inline void stop_pg_cluster(const PgCluster& c) {
  (void)run("bash " + pg_script() + " stop " + c.state + " >/dev/null 2>&1");
  std::error_code ec;
  std::filesystem::remove_all(c.state, ec);
}

// The cluster shared by this binary's tests (see the top of this file).
inline const PgCluster* shared_pg_cluster(bool start_if_needed = true) {
  static std::mutex m;
  static std::optional<PgCluster> cluster;
  static bool tried = false;
  std::lock_guard g(m);
  if (cluster || tried || !start_if_needed) return cluster ? &*cluster : nullptr;
  tried = true;
  if (const char* s = std::getenv("SIMKYC_TEST_PG"); s && *s) {
    PgCluster c;
    c.state = s;
    c.url = read_line(std::filesystem::path(s) / "url");
    c.dir = read_line(std::filesystem::path(s) / "cluster");
    if (c.url.empty()) ADD_FAILURE() << "SIMKYC_TEST_PG=" << s << " holds no cluster (did pg_cluster_start run?)";
    else cluster = c;
  } else {
    cluster = start_pg_cluster("shared");
  }
  return cluster ? &*cluster : nullptr;
}

class PgClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (const auto* c = shared_pg_cluster(/*start_if_needed=*/false); c && c->owned) stop_pg_cluster(*c);
  }
};
inline ::testing::Environment* const kPgClusterEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgClusterEnvironment);

// url with its database name replaced.
inline std::string with_database(const std::string& url, const std::string& db) {
  const auto q = url.find('?');
  const auto slash = url.rfind('/', q);
  return url.substr(0, slash + 1) + db + (q == std::string::npos ? "" : url.substr(q));
}

#ifdef SIMKYC_HAVE_POSTGRES
// Runs SQL on the database at url (one connection of its own).  Throws on error.
inline void pg_exec(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  tx.exec("SET client_min_messages = warning");
  tx.exec(sql);
}

inline std::vector<std::vector<std::string>> pg_rows(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<std::vector<std::string>> out;
  for (const auto& row : tx.exec(sql)) {
    std::vector<std::string> r;
    for (const auto& f : row) r.push_back(f.is_null() ? std::string() : f.as<std::string>());
    out.push_back(std::move(r));
  }
  return out;
}
#endif

// New empty databases on a cluster, dropped when this object goes.
class PgDatabases {
 public:
  explicit PgDatabases(const PgCluster* c) : cluster_(c) {}
  PgDatabases(const PgDatabases&) = delete;
  PgDatabases& operator=(const PgDatabases&) = delete;
  ~PgDatabases() {
#ifdef SIMKYC_HAVE_POSTGRES
    for (const auto& db : made_) {
      try {
        pg_exec(cluster_->url, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
      } catch (const std::exception&) {
      }
    }
#endif
  }
  // A new database (optionally a copy of `template_db`'s, which must have no open connections).
  std::string fresh(const std::string& template_url = "") {
    const std::string db = "t_" + random_hex(8);
#ifdef SIMKYC_HAVE_POSTGRES
    std::string sql = "CREATE DATABASE " + db;
    if (!template_url.empty()) sql += " TEMPLATE " + name_of(template_url);
    pg_exec(cluster_->url, sql);
#else
    ADD_FAILURE() << "built without libpqxx";
#endif
    made_.push_back(db);
    return with_database(cluster_->url, db);
  }
  static std::string name_of(const std::string& url) {
    const auto q = url.find('?');
    const auto slash = url.rfind('/', q);
    return url.substr(slash + 1, q == std::string::npos ? std::string::npos : q - slash - 1);
  }
  const PgCluster& cluster() const { return *cluster_; }

 private:
  const PgCluster* cluster_;
  std::vector<std::string> made_;
};

}  // namespace simkyc::test
