// Runs the built `simkyc keys|audit|purge` (SIMKYC_BINARY) against real store files.
#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/crypto.h"
#include "registry/store.h"
#include "registry_helpers.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using namespace simkyc;
using simkyc::test::TempDir;

namespace {

// `simkyc ARGS` with stderr discarded; `env` is prepended (e.g. "SIMKYC_DATA_DIR=/x").
simkyc::test::Run simkyc_run(const std::string& args, const std::string& env = "") {
  return simkyc::test::run(env + (env.empty() ? "" : " ") + "'" + SIMKYC_BINARY + "' " + args + " 2>/dev/null");
}

nlohmann::json json_of(const simkyc::test::Run& r) {
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

std::string q(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST(CliRegistry, KeysCreatePrintsTheKeyOnceAndStoresOnlyItsHash) {
  TempDir dir("cli");
  const std::string db = dir.file("simkyc.db");
  const auto r = simkyc_run("keys create --create --store " + q(db) + " --operator op1 --role clerk");
  ASSERT_EQ(r.code, 0) << r.out;
  std::smatch m;
  const std::regex key_re("sk_([0-9a-f]{16})_([0-9a-f]{64})");
  ASSERT_TRUE(std::regex_search(r.out, m, key_re)) << r.out;
  const std::string key_id = m[1], secret = m[2];
  // Printed once.
  EXPECT_EQ(r.out.find(secret), r.out.rfind(secret));

  {
    auto st = open_sqlite_store(db);
    ASSERT_TRUE(st.ok());
    auto k = (*st)->find_key(key_id);
    ASSERT_TRUE(k.ok() && k->has_value());
    EXPECT_EQ((*k)->secret_hash, hash_hex(secret));
    EXPECT_EQ((*k)->operator_id, "op1");
    EXPECT_EQ((*k)->role, Role::kClerk);
    EXPECT_FALSE((*k)->revoked);
  }
  const std::string bytes = simkyc::test::db_bytes(db);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find(secret.substr(0, 32)), std::string::npos);

  // JSON output, another role.
  const auto j = simkyc_run("keys create --store " + q(db) + " --operator op2 --role auditor --json");
  ASSERT_EQ(j.code, 0);
  const auto doc = json_of(j);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["role"], "auditor");
  EXPECT_EQ(doc["operator"], "op2");
  EXPECT_TRUE(std::regex_match(doc["key"].get<std::string>(), key_re));
  EXPECT_EQ(doc["key"].get<std::string>().substr(3, 16), doc["key_id"].get<std::string>());
}

TEST(CliRegistry, KeysCreateRefusesBadUsage) {
  TempDir dir("cli");
  const std::string db = dir.file("simkyc.db");
  EXPECT_EQ(simkyc_run("keys create --store " + q(db) + " --operator op1 --role root").code, 2);
  EXPECT_EQ(simkyc_run("keys create --store " + q(db) + " --role clerk").code, 2);
  EXPECT_EQ(simkyc_run("keys create --store " + q(dir.file("no/such/dir/x.db")) + " --operator o --role clerk").code, 2);
  // A mistyped --store is an error, not a new empty store (issue 14); --create makes one.
  const auto typo = simkyc_run("keys create --store " + q(dir.file("simkcy.db")) + " --operator o --role clerk --json");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("--create"), std::string::npos) << typo.out;
  EXPECT_FALSE(fs::exists(dir.file("simkcy.db")));
  EXPECT_EQ(simkyc_run("keys create --create --store " + q(dir.file("simkcy.db")) + " --operator o --role clerk").code, 0);
  EXPECT_TRUE(fs::exists(dir.file("simkcy.db")));
}

TEST(CliRegistry, KeysRevoke) {
  TempDir dir("cli");
  const std::string db = dir.file("simkyc.db");
  const auto created = json_of(simkyc_run("keys create --create --store " + q(db) + " --operator op1 --role admin --json"));
  ASSERT_TRUE(created.is_object());
  const std::string key_id = created["key_id"];
  EXPECT_EQ(simkyc_run("keys revoke --store " + q(db) + " " + key_id).code, 0);
  {
    auto st = open_sqlite_store(db);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE((*(*st)->find_key(key_id))->revoked);
  }
  EXPECT_EQ(simkyc_run("keys revoke --store " + q(db) + " 0000000000000000").code, 2);
  EXPECT_EQ(simkyc_run("keys revoke --store " + q(dir.file("missing.db")) + " " + key_id).code, 2);
  EXPECT_FALSE(fs::exists(dir.file("missing.db")));
}

TEST(CliRegistry, AuditVerifyExitCodes) {
  TempDir dir("cli");
  const std::string db = dir.file("simkyc.db");
  for (const char* op : {"op1", "op2", "op3"})
    ASSERT_EQ(simkyc_run("keys create --create --store " + q(db) + " --operator " + op + " --role clerk").code, 0);

  auto ok = simkyc_run("audit verify --store " + q(db));
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("3 entries"), std::string::npos) << ok.out;
  auto okj = json_of(simkyc_run("audit verify --store " + q(db) + " --json"));
  EXPECT_EQ(okj["ok"], true);
  EXPECT_EQ(okj["entries"], 3);

  const std::string bad = dir.file("tampered.db");
  fs::copy_file(db, bad);
  simkyc::test::sql_exec(bad, "UPDATE audit SET operator_id = 'op9' WHERE seq = 2");
  auto broken = simkyc_run("audit verify --store " + q(bad));
  EXPECT_EQ(broken.code, 1) << broken.out;
  EXPECT_NE(broken.out.find("entry 2"), std::string::npos) << broken.out;
  auto bj = json_of(simkyc_run("audit verify --store " + q(bad) + " --json"));
  ASSERT_TRUE(bj.is_object());
  EXPECT_EQ(bj["ok"], false);
  EXPECT_EQ(bj["first_bad_seq"], 2);
  EXPECT_EQ(bj["code"], "AUDIT_CHAIN_BROKEN");

  // The original is still intact; a missing store is an input error.
  EXPECT_EQ(simkyc_run("audit verify --store " + q(db)).code, 0);
  EXPECT_EQ(simkyc_run("audit verify --store " + q(dir.file("missing.db"))).code, 2);
  EXPECT_EQ(simkyc_run("audit --store " + q(db)).code, 2);
}

TEST(CliRegistry, PurgeRuns) {
  TempDir dir("cli");
  const std::string db = dir.file("simkyc.db");
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  {
    auto st = open_sqlite_store(db);
    ASSERT_TRUE(st.ok());
    SessionRecord s;
    s.id = "old";
    s.operator_id = "op1";
    s.created = now - 200 * 86400;
    s.expires = s.created + 600;
    ASSERT_TRUE((*st)->create_session(s).ok());
    s.id = "new";
    s.created = now - 60;
    s.expires = now + 600;
    ASSERT_TRUE((*st)->create_session(s).ok());
  }
  auto r = simkyc_run("purge --store " + q(db) + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = json_of(r);
  EXPECT_EQ(j["sessions"], 1);
  EXPECT_EQ(j["templates"], 0);
  auto again = simkyc_run("purge --store " + q(db) + " --sessions-days 0 --templates-days 0");
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("purged 1 sessions"), std::string::npos) << again.out;
  EXPECT_EQ(simkyc_run("audit verify --store " + q(db)).code, 0);
  EXPECT_EQ(simkyc_run("purge --store " + q(db) + " --sessions-days -1").code, 2);
  EXPECT_EQ(simkyc_run("purge --store " + q(dir.file("missing.db"))).code, 2);
}

TEST(CliRegistry, DefaultStorePathComesFromTheEnvironment) {
  TempDir dir("cli");
  const std::string data = dir.file("data/nested");
  auto r = simkyc_run("keys create --operator op1 --role clerk --json", "SIMKYC_DATA_DIR=" + q(data));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(json_of(r)["store"], data + "/simkyc.db");
  EXPECT_TRUE(fs::exists(data + "/simkyc.db"));
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(simkyc_run("audit verify", "SIMKYC_DATA_DIR=" + q(data)).code, 0);

  const std::string xdg = dir.file("xdg");
  r = simkyc_run("keys create --operator op1 --role clerk --json", "env -u SIMKYC_DATA_DIR XDG_DATA_HOME=" + q(xdg));
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json_of(r)["store"], xdg + "/simkyc/simkyc.db");

  const std::string home = dir.file("home");
  r = simkyc_run("keys create --operator op1 --role clerk --json",
                 "env -u SIMKYC_DATA_DIR -u XDG_DATA_HOME HOME=" + q(home));
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json_of(r)["store"], home + "/.local/share/simkyc/simkyc.db");
  EXPECT_TRUE(fs::exists(home + "/.local/share/simkyc/simkyc.db"));
}
