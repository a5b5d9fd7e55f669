// `simkyc keys create|revoke`, `simkyc audit verify`, `simkyc purge` — the store's admin commands.
// Thin: parses, calls src/registry, formats.  A new API key's secret is printed once and never
// stored or logged; the store keeps only its hash.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/store_path.h"
#include "registry/crypto.h"
#include "registry/keys.h"
#include "registry/service.h"
#include "registry/store.h"

namespace simkyc::cli {
namespace {

constexpr const char* kActor = "cli";

struct StoreOptions {
  std::string store;
  bool json = false;
};

std::string store_path(const StoreOptions& o) { return o.store.empty() ? default_store_path() : o.store; }

// Opens the store (a SQLite file or a PostgreSQL URL); when `must_exist`, a missing SQLite file is
// an input error rather than a new store.
Result<std::unique_ptr<Store>> open_store(const std::string& path, bool must_exist) {
  std::error_code ec;
  if (must_exist && !is_postgres_url(path) && !std::filesystem::is_regular_file(path, ec))
    return make_error(Reason::kIoError, "no store at " + path);
  return simkyc::open_store(path);
}

// ---- keys ------------------------------------------------------------------------------------

struct KeyCreateOptions : StoreOptions {
  std::string operator_id;
  std::string role;
  bool create = false;
};

int run_key_create(const KeyCreateOptions& o) {
  const auto role = role_from_string(o.role);
  if (!role || o.operator_id.empty())
    return report_error(make_error(Reason::kUsage, "--operator and --role clerk|supervisor|auditor|admin are required"), o.json);
  const std::string path = store_path(o);
  // A mistyped --store must not silently make a new, empty store (issue 14); the default path is
  // made on first use, as `simkyc serve` does.
  auto store = open_store(path, /*must_exist=*/!o.store.empty() && !o.create);
  if (!store) {
    Error e = store.error();
    if (e.reason == Reason::kIoError) e.detail += " (give --create to make a new store there)";
    return report_error(e, o.json);
  }

  auto made = create_api_key(**store, o.operator_id, *role, static_cast<std::int64_t>(std::time(nullptr)), kActor);
  if (!made) return report_error(made.error(), o.json);
  const ApiKeyRecord& k = made->record;
  const std::string& key = made->key;
  spdlog::info("created API key {} (operator {}, role {})", k.key_id, k.operator_id, to_string(k.role));

  if (o.json) {
    print_json({{"key", key}, {"key_id", k.key_id}, {"operator", k.operator_id}, {"role", to_string(k.role)},
                {"created", k.created}, {"store", redact_location(path)}});
  } else {
    std::cout << "Created API key " << k.key_id << " for operator " << k.operator_id << ", role "
              << to_string(k.role) << ".\n"
              << "This is the only time the key is shown; keep it safe (the store holds only its hash):\n"
              << key << "\n";
  }
  return 0;
}

struct KeyRevokeOptions : StoreOptions {
  std::string key_id;
};

int run_key_revoke(const KeyRevokeOptions& o) {
  const std::string path = store_path(o);
  auto store = open_store(path, /*must_exist=*/true);
  if (!store) return report_error(store.error(), o.json);
  // Accept the full key too: its id is the part between "sk_" and the next "_".
  std::string id = o.key_id;
  if (id.rfind("sk_", 0) == 0) {
    const std::string rest = id.substr(3);
    id = rest.substr(0, rest.find('_'));
  }
  if (auto st = (*store)->revoke_key(id, kActor); !st) return report_error(st.error(), o.json);
  spdlog::info("revoked API key {}", id);
  if (o.json) print_json({{"revoked", id}});
  else std::cout << "Revoked API key " << id << ".\n";
  return 0;
}

// ---- locks -------------------------------------------------------------------------------------

struct LockClearOptions : StoreOptions {
  std::string operator_id, id_number, mrz, key_file;
};

int run_lock_clear(const LockClearOptions& o) {
  if (o.id_number.empty() == o.mrz.empty())
    return report_error(make_error(Reason::kUsage, "give exactly one of --id-number, --mrz"), o.json);
  const std::string path = store_path(o);
  auto store = open_store(path, /*must_exist=*/true);
  if (!store) return report_error(store.error(), o.json);
  // The keyed hash needs the service's data key: SIMKYC_MASTER_KEY or the key file beside the store.
  Result<Vault> vault = make_error(Reason::kConfigError);
  if (const char* hex = std::getenv("SIMKYC_MASTER_KEY"); hex && *hex) vault = Vault::from_hex(hex);
  else vault = Vault::from_key_file(o.key_file.empty() ? default_key_path(path) : o.key_file, /*create_if_missing=*/false);
  if (!vault) return report_error(vault.error(), o.json);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto h = document_subject_hash(*vault, o.id_number, o.mrz, now);
  if (!h) return report_error(h.error(), o.json);
  auto n = clear_subject_locks(**store, o.operator_id, *h, kActor);
  if (!n) return report_error(n.error(), o.json);
  spdlog::info("cleared {} failed-attempt events for operator {}", *n, o.operator_id);
  if (o.json) print_json({{"cleared", *n}, {"operator", o.operator_id}});
  else std::cout << "Cleared " << *n << " failed-attempt records and locks of this ID at operator " << o.operator_id << ".\n";
  return 0;
}

// ---- audit -----------------------------------------------------------------------------------

int run_audit_verify(const StoreOptions& o) {
  const std::string path = store_path(o);
  auto store = open_store(path, /*must_exist=*/true);
  if (!store) return report_error(store.error(), o.json);
  auto check = (*store)->verify_audit();
  if (!check) return report_error(check.error(), o.json);
  const ChainCheck& c = *check;
  if (o.json) {
    nlohmann::json j = {{"ok", c.ok}, {"entries", c.entries}, {"store", redact_location(path)}};
    if (!c.ok) {
      j["first_bad_seq"] = c.first_bad_seq ? nlohmann::json(*c.first_bad_seq) : nlohmann::json(nullptr);
      j["problem"] = c.problem;
      j["code"] = code(Reason::kAuditChainBroken);
    }
    print_json(j);
  } else if (c.ok) {
    std::cout << "audit chain intact: " << c.entries << " entries (" << redact_location(path) << ")\n";
  } else {
    std::cout << "audit chain BROKEN at entry " << (c.first_bad_seq ? std::to_string(*c.first_bad_seq) : "?")
              << ": " << c.problem << " (" << c.entries << " entries in " << redact_location(path) << ")\n";
  }
  return c.ok ? 0 : 1;
}

// ---- purge -----------------------------------------------------------------------------------

struct PurgeOptions : StoreOptions {
  RetentionPolicy policy;
};

int run_purge(const PurgeOptions& o) {
  const std::string path = store_path(o);
  auto store = open_store(path, /*must_exist=*/true);
  if (!store) return report_error(store.error(), o.json);
  auto rep = (*store)->purge(o.policy, static_cast<std::int64_t>(std::time(nullptr)), kActor);
  if (!rep) return report_error(rep.error(), o.json);
  spdlog::info("purge: {} sessions, {} templates", rep->sessions, rep->templates);
  if (o.json)
    print_json({{"sessions", rep->sessions}, {"templates", rep->templates},
                {"sessions_days", o.policy.sessions_days}, {"templates_days", o.policy.templates_days}});
  else
    std::cout << "purged " << rep->sessions << " sessions and " << rep->templates << " face templates past retention ("
              << o.policy.sessions_days << " / " << o.policy.templates_days << " days)\n";
  return 0;
}

void add_store_options(CLI::App* cmd, StoreOptions& o) {
  cmd->add_option("--store", o.store,
                  "SQLite store file (default: $SIMKYC_DATA_DIR/simkyc.db, else "
                  "$XDG_DATA_HOME/simkyc/simkyc.db, else ~/.local/share/simkyc/simkyc.db), or a PostgreSQL "
                  "URL postgres://USER@HOST:PORT/DB");
  cmd->add_flag("--json", o.json, "Print JSON");
}

}  // namespace

void add_registry_commands(CLI::App& app, Context& ctx) {
  auto* keys = app.add_subcommand("keys", "API keys bound to an operator and a role");
  keys->require_subcommand(1);

  auto kc = std::make_shared<KeyCreateOptions>();
  auto* create = keys->add_subcommand(
      "create", "Create an API key and print it once (the store keeps only a hash of its secret)");
  add_store_options(create, *kc);
  create->add_option("--operator", kc->operator_id, "Operator the key belongs to")->required();
  create->add_option("--role", kc->role, "clerk, supervisor, auditor or admin")
      ->required()
      ->check(CLI::IsMember({"clerk", "supervisor", "auditor", "admin"}));
  create->callback([kc, &ctx] { ctx.exit_code = run_key_create(*kc); });

  auto kr = std::make_shared<KeyRevokeOptions>();
  auto* revoke = keys->add_subcommand("revoke", "Revoke an API key");
  add_store_options(revoke, *kr);
  revoke->add_option("KEY_ID", kr->key_id, "The key id (or the whole key)")->required();
  revoke->callback([kr, &ctx] { ctx.exit_code = run_key_revoke(*kr); });

  create->add_flag("--create", kc->create, "Make a new store when --store names a file that does not exist");

  auto* locks = app.add_subcommand("locks", "Failed-attempt locks (rate limits) of an ID holder");
  locks->require_subcommand(1);
  auto lc = std::make_shared<LockClearOptions>();
  auto* clear = locks->add_subcommand(
      "clear", "Unlock an ID at an operator (every device), audited as lock.clear with actor cli");
  add_store_options(clear, *lc);
  clear->add_option("--operator", lc->operator_id, "Operator the lock is at")->required();
  clear->add_option("--id-number", lc->id_number, "Resident ID number of the holder");
  clear->add_option("--mrz", lc->mrz, "Or the MRZ of the holder's document (lines separated by newlines)");
  clear->add_option("--key-file", lc->key_file, "Data key file (default: simkyc.key beside the store; "
                                                "SIMKYC_MASTER_KEY overrides it)");
  clear->callback([lc, &ctx] { ctx.exit_code = run_lock_clear(*lc); });

  auto* audit = app.add_subcommand("audit", "The hash-chained audit log");
  audit->require_subcommand(1);
  auto av = std::make_shared<StoreOptions>();
  auto* verify = audit->add_subcommand(
      "verify", "Check every audit entry's hash and link; exit 0 intact, 1 broken (prints the first bad entry), "
                "2 usage or I/O error");
  add_store_options(verify, *av);
  verify->callback([av, &ctx] { ctx.exit_code = run_audit_verify(*av); });

  auto po = std::make_shared<PurgeOptions>();
  auto* purge = app.add_subcommand("purge", "Delete sessions and face templates that are past retention");
  add_store_options(purge, *po);
  purge->add_option("--sessions-days", po->policy.sessions_days,
                    "Keep sessions without an active registration this many days")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  purge->add_option("--templates-days", po->policy.templates_days,
                    "Keep face templates this many days after the decision (0: drop once decided)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  purge->callback([po, &ctx] { ctx.exit_code = run_purge(*po); });
}

}  // namespace simkyc::cli
