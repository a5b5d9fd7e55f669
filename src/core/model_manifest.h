// src/core/model_manifest.h — finds model files through models/manifest.json, the one place
// where every model's package, file and SHA-256 are listed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/result.h"

namespace simkyc {

struct ModelFile {
  std::string id;                 // e.g. "dlib_resnet_v1"
  std::string package;            // package that ships it, e.g. "face-recognition-models"
  std::string package_version;    // pinned version
  std::string sha256;             // expected checksum (verified by scripts/setup.sh)
  std::filesystem::path path;     // absolute path of the file (converted models: in model_dir)
};

// Requires: model_dir holds manifest.json (and node_modules/ after scripts/setup.sh).
// Ensures: the file named `id` exists.  Errors: kModelError (no manifest, unknown id, missing file).
Result<ModelFile> find_model(const std::filesystem::path& model_dir, const std::string& id);

// The bytes of a model file read whole (at most max_bytes), checked against f.sha256.
// Used for files shipped in the repository ("in_repo": true), which the program reads itself.
// Errors: kModelError (unreadable, too large, SHA-256 differs from the manifest).
Result<std::string> read_checked_model_file(const ModelFile& f, std::uintmax_t max_bytes);

}  // namespace simkyc
