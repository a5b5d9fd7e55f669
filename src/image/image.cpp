// The image guard: sniff, probe headers, enforce limits, decode with OpenCV, apply EXIF.
#include "image/image.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/file.h"
#include "image/detail_probe.h"

namespace simkyc {
namespace {

bool starts_with(std::span<const std::uint8_t> d, std::string_view sig, std::size_t at = 0) {
  return d.size() >= at + sig.size() && std::memcmp(d.data() + at, sig.data(), sig.size()) == 0;
}

// OpenCV logs decoder complaints about hostile input through its logger; the guard reports
// them as reason codes instead.  Done once, process-wide.
void silence_opencv_logging() {
  static std::once_flag once;
  std::call_once(once, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

image_detail::Probe probe(ImageFormat f, std::span<const std::uint8_t> d) {
  switch (f) {
    case ImageFormat::kJpeg: return image_detail::probe_jpeg(d);
    case ImageFormat::kPng: return image_detail::probe_png(d);
    case ImageFormat::kBmp: return image_detail::probe_bmp(d);
    case ImageFormat::kPnm: return image_detail::probe_pnm(d);
    case ImageFormat::kWebp: return image_detail::probe_webp(d);
    case ImageFormat::kJpeg2000: return image_detail::probe_jpeg2000(d, d[0] == 0x00);
    case ImageFormat::kUnknown: break;
  }
  image_detail::Probe p;
  p.problem = Reason::kImageUnsupported;
  return p;
}

// EXIF orientation 1..8 -> upright image (the transforms the EXIF/TIFF spec defines).
cv::Mat apply_orientation(const cv::Mat& m, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(m, out, 1); return out;                           // mirror left-right
    case 3: cv::flip(m, out, -1); return out;                          // rotate 180
    case 4: cv::flip(m, out, 0); return out;                           // mirror top-bottom
    case 5: cv::transpose(m, out); return out;                         // transpose
    case 6: cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE); return out;   // rotate 90 CW
    case 7: cv::transpose(m, out); cv::flip(out, out, -1); return out; // transverse
    case 8: cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    default: return m;
  }
}

ImageFormat format_from_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jpg" || ext == ".jpeg" || ext == ".jpe" || ext == ".jfif" || ext == ".jif") return ImageFormat::kJpeg;
  if (ext == ".png") return ImageFormat::kPng;
  if (ext == ".bmp" || ext == ".dib") return ImageFormat::kBmp;
  if (ext == ".pbm" || ext == ".pgm" || ext == ".ppm" || ext == ".pnm") return ImageFormat::kPnm;
  if (ext == ".webp") return ImageFormat::kWebp;
  if (ext == ".jp2" || ext == ".j2k" || ext == ".j2c" || ext == ".jpc" || ext == ".jpf" || ext == ".jpx")
    return ImageFormat::kJpeg2000;
  return ImageFormat::kUnknown;
}

}  // namespace

std::string_view to_string(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kPnm: return "pnm";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kJpeg2000: return "jpeg2000";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat sniff_format(std::span<const std::uint8_t> d) {
  if (starts_with(d, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (starts_with(d, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (starts_with(d, "BM")) return ImageFormat::kBmp;
  if (d.size() >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' &&
      (d[2] == ' ' || d[2] == '\t' || d[2] == '\n' || d[2] == '\r' || d[2] == '\v' || d[2] == '\f'))
    return ImageFormat::kPnm;
  if (starts_with(d, "RIFF") && starts_with(d, "WEBP", 8)) return ImageFormat::kWebp;
  if (starts_with(d, std::string_view("\x00\x00\x00\x0CjP  \r\n\x87\n", 12))) return ImageFormat::kJpeg2000;
  if (starts_with(d, "\xFF\x4F\xFF\x51")) return ImageFormat::kJpeg2000;
  return ImageFormat::kUnknown;
}

Result<Image> decode_image(std::span<const std::uint8_t> data, const ImageLimits& limits) {
  silence_opencv_logging();
  if (data.empty()) return make_error(Reason::kImageEmpty);
  if (data.size() > limits.max_bytes || data.size() > static_cast<std::size_t>(INT_MAX))
    return make_error(Reason::kImageTooLarge,
                      std::to_string(data.size()) + " bytes > limit " + std::to_string(limits.max_bytes));
  const ImageFormat format = sniff_format(data);
  if (format == ImageFormat::kUnknown) return make_error(Reason::kImageUnsupported, "unknown signature");

  image_detail::Probe p = probe(format, data);
  const std::string fmt(to_string(format));
  if (p.have_dims) {
    const std::string dims = std::to_string(p.width) + "x" + std::to_string(p.height);
    if (p.bad_dims || p.width == 0 || p.height == 0)
      return make_error(Reason::kImageBadDimensions, fmt + " header says " + dims);
    const auto side = static_cast<std::uint64_t>(std::max(limits.max_side, 0));
    if (p.width > side || p.height > side || p.width * p.height > limits.max_pixels)
      return make_error(Reason::kImageTooManyPixels, fmt + " " + dims);
  }
  if (p.problem != Reason::kOk) return make_error(p.problem, p.detail);
  if (!p.have_dims) return make_error(Reason::kImageCorrupt, fmt + ": no dimensions");
  if (format == ImageFormat::kJpeg) image_detail::confirm_jpeg(data, p);
  if (format == ImageFormat::kJpeg2000) image_detail::confirm_jpeg2000(data, data[0] == 0x00, p);
  if (p.problem != Reason::kOk) return make_error(p.problem, p.detail);

  // Only the decoder for the sniffed signature can run: OpenCV picks decoders by signature too.
  int flags = cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION;
  if (format == ImageFormat::kPnm && p.pnm_maxval > 255) flags |= cv::IMREAD_ANYDEPTH;  // scaled below
  cv::Mat raw;
  try {
    const cv::Mat buf(1, static_cast<int>(data.size()), CV_8UC1, const_cast<std::uint8_t*>(data.data()));
    raw = cv::imdecode(buf, flags);
  } catch (const cv::Exception&) {
    raw.release();
  } catch (const std::bad_alloc&) {
    return make_error(Reason::kInternal, "out of memory while decoding");
  } catch (...) {
    raw.release();
  }
  if (raw.empty())
    return make_error(p.truncation_suspected ? Reason::kImageTruncated : Reason::kImageCorrupt,
                      fmt + ": decoder failed");
  if (static_cast<std::uint64_t>(raw.cols) != p.width || static_cast<std::uint64_t>(raw.rows) != p.height)
    return make_error(Reason::kImageCorrupt, fmt + ": decoded size differs from header");

  try {
    if (raw.depth() != CV_8U) {
      const double scale = raw.depth() == CV_16U
                               ? 255.0 / (format == ImageFormat::kPnm && p.pnm_maxval > 0 ? p.pnm_maxval : 65535)
                               : 1.0;
      raw.convertTo(raw, CV_8U, scale);
    }
    if (raw.channels() == 1) cv::cvtColor(raw, raw, cv::COLOR_GRAY2BGR);
    else if (raw.channels() == 4) cv::cvtColor(raw, raw, cv::COLOR_BGRA2BGR);
    else if (raw.channels() != 3) return make_error(Reason::kImageCorrupt, fmt + ": unexpected channels");

    Image out;
    out.format = format;
    out.exif_orientation = format == ImageFormat::kJpeg ? p.exif_orientation : 1;
    out.bgr = apply_orientation(raw, out.exif_orientation);
    return out;
  } catch (const std::bad_alloc&) {
    return make_error(Reason::kInternal, "out of memory while converting");
  } catch (const cv::Exception& e) {
    return make_error(Reason::kInternal, std::string("conversion failed: ") + e.what());
  }
}

Result<Image> load_image(const std::filesystem::path& path, const ImageLimits& limits) {
  // read_file_limited needs a positive limit; decode_image applies the real one.
  auto bytes = read_file_limited(path, std::max<std::uint64_t>(limits.max_bytes, 1));
  if (!bytes) return bytes.error();
  const ImageFormat by_name = format_from_extension(path);
  const ImageFormat by_content = sniff_format(*bytes);
  if (by_name != ImageFormat::kUnknown && by_content != ImageFormat::kUnknown && by_name != by_content)
    return make_error(Reason::kImageWrongExtension, "content is " + std::string(to_string(by_content)) +
                                                        ", name says " + std::string(to_string(by_name)));
  return decode_image(*bytes, limits);
}

}  // namespace simkyc
