// src/cli/store_path.h — where the embedded store and its key file live by default (shared by
// `simkyc serve`, `simkyc keys`, `simkyc audit` and `simkyc purge`).
#pragma once
#include <string>

namespace simkyc::cli {

// $SIMKYC_DATA_DIR/simkyc.db when set, else $XDG_DATA_HOME/simkyc/simkyc.db, else
// ~/.local/share/simkyc/simkyc.db.  Ensures: the directory exists (created with mode 0700 when
// missing; a failure to create it shows up when the store is opened).
std::string default_store_path();

// The key file beside a store: <directory of store_path>/simkyc.key.
std::string default_key_path(const std::string& store_path);

}  // namespace simkyc::cli
