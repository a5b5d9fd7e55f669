#include "core/model_manifest.h"

#include <nlohmann/json.hpp>

#include "core/file.h"

namespace simkyc {

Result<ModelFile> find_model(const std::filesystem::path& model_dir, const std::string& id) {
  auto text = read_text_file(model_dir / "manifest.json", 1u << 20);
  if (!text) return make_error(Reason::kModelError, "cannot read " + (model_dir / "manifest.json").string());
  try {
    const auto j = nlohmann::json::parse(*text);
    if (!j.contains("models") || !j["models"].contains(id))
      return make_error(Reason::kModelError, "model '" + id + "' not in manifest");
    const auto& m = j["models"][id];
    ModelFile f;
    f.id = id;
    // A file shipped in the repository itself ("in_repo": true: the liveness model, fusion models).
    if (m.value("in_repo", false)) {
      f.package_version = m.value("version", "");
      f.sha256 = m.at("sha256").get<std::string>();
      f.path = model_dir / m.at("file").get<std::string>();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(f.path, ec)) return make_error(Reason::kModelError, "missing " + f.path.string());
      return f;
    }
    // A converted model (e.g. ONNX made at set-up from a package's file) lives in model_dir itself
    // and takes its package from the file it was converted from.
    const bool converted = m.contains("converted_from");
    const auto& src = converted ? j["models"].at(m["converted_from"].at(0).get<std::string>()) : m;
    f.package = src.at("package").get<std::string>();
    f.package_version = j.at("packages").at(f.package).at("version").get<std::string>();
    f.sha256 = m.at("sha256").get<std::string>();
    f.path = converted ? model_dir / m.at("file").get<std::string>()
                       : model_dir / "node_modules" / f.package / m.at("file").get<std::string>();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f.path, ec))
      return make_error(Reason::kModelError, "missing " + f.path.string() + " (run scripts/setup.sh)");
    return f;
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kModelError, std::string("bad manifest: ") + e.what());
  }
}

Result<std::string> read_checked_model_file(const ModelFile& f, std::uintmax_t max_bytes) {
  auto text = read_text_file(f.path, max_bytes);
  if (!text) return make_error(Reason::kModelError, "cannot read " + f.path.string());
  if (f.sha256 != sha256_hex({reinterpret_cast<const std::uint8_t*>(text->data()), text->size()})) return make_error(Reason::kModelError, f.path.string() + ": SHA-256 differs from models/manifest.json");
  return text;
}

}  // namespace simkyc
