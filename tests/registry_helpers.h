// Helpers for the registry tests: temporary directories and raw SQLite access (for tampering
// with copies of a store, as an attacker with the file would).
#pragma once
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/crypto.h"

namespace simkyc::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag = "reg") {
    path = std::filesystem::temp_directory_path() /
           ("simkyc_" + tag + "_" + std::to_string(::getpid()) + "_" + random_hex(6));
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Runs SQL on a database file with a connection of its own.  Fails the test on error.
inline void sql_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in: " << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

// The rows of a query, each column as text (NULL as "").
inline std::vector<std::vector<std::string>> sql_rows(const std::string& db_path, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
    sqlite3_close(db);
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << " in: " << sql;
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

inline std::string sql_value(const std::string& db_path, const std::string& sql) {
  const auto rows = sql_rows(db_path, sql);
  return rows.empty() || rows[0].empty() ? std::string() : rows[0][0];
}

// Every byte of the database file and its WAL (if any).
inline std::string db_bytes(const std::string& db_path) {
  std::string all;
  for (const std::string& p : {db_path, db_path + "-wal"}) {
    std::ifstream in(p, std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
  }
  return all;
}

}  // namespace simkyc::test
