#include "cli/store_path.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace simkyc::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string home_dir() {
  if (auto h = env("HOME"); !h.empty()) return h;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return ".";
}

// Creates `dir` and any missing parents with mode 0700 (existing directories are left alone).
void make_private_dirs(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || std::filesystem::is_directory(dir, ec)) return;
  make_private_dirs(dir.parent_path());
  ::mkdir(dir.c_str(), 0700);
}

}  // namespace

std::string default_store_path() {
  std::filesystem::path dir;
  if (auto d = env("SIMKYC_DATA_DIR"); !d.empty()) dir = d;
  else if (auto x = env("XDG_DATA_HOME"); !x.empty()) dir = std::filesystem::path(x) / "simkyc";
  else dir = std::filesystem::path(home_dir()) / ".local" / "share" / "simkyc";
  make_private_dirs(dir);
  return (dir / "simkyc.db").string();
}

std::string default_key_path(const std::string& store_path) {
  auto dir = std::filesystem::path(store_path).parent_path();
  return (dir.empty() ? std::filesystem::path("simkyc.key") : dir / "simkyc.key").string();
}

}  // namespace simkyc::cli
