#include "cli/plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace simkyc::cli {
namespace {

constexpr int kW = 640, kH = 480, kL = 70, kR = 20, kT = 40, kB = 60;
const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

// Legend lines stack upwards from the bottom-right corner, away from ROC/DET curves.
int legend_y(std::size_t n, std::size_t i) { return kH - kB - 12 - 16 * static_cast<int>(n - 1 - i); }

struct Mapper {
  const PlotSpec& s;
  double fx(double x) const {
    double t = s.log_x ? (std::log10(std::max(x, s.x_min)) - std::log10(s.x_min)) /
                             (std::log10(s.x_max) - std::log10(s.x_min))
                       : (x - s.x_min) / (s.x_max - s.x_min);
    return kL + std::clamp(t, 0.0, 1.0) * (kW - kL - kR);
  }
  double fy(double y) const {
    const double t = (y - s.y_min) / (s.y_max - s.y_min);
    return kH - kB - std::clamp(t, 0.0, 1.0) * (kH - kT - kB);
  }
};

std::vector<std::pair<double, std::string>> x_ticks(const PlotSpec& s) {
  std::vector<std::pair<double, std::string>> t;
  if (s.log_x) {
    for (int e = static_cast<int>(std::floor(std::log10(s.x_min))); e <= static_cast<int>(std::ceil(std::log10(s.x_max))); ++e)
      t.emplace_back(std::pow(10.0, e), "1e" + std::to_string(e));
  } else {
    for (int i = 0; i <= 5; ++i) {
      const double v = s.x_min + i * (s.x_max - s.x_min) / 5;
      std::ostringstream o;
      o << v;
      t.emplace_back(v, o.str());
    }
  }
  return t;
}

cv::Scalar bgr(const char* hex) {
  const unsigned v = static_cast<unsigned>(std::stoul(hex + 1, nullptr, 16));
  return {static_cast<double>(v & 0xff), static_cast<double>((v >> 8) & 0xff), static_cast<double>((v >> 16) & 0xff)};
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

}  // namespace

Status write_plot(const std::string& path, const PlotSpec& spec, const std::vector<Series>& series) {
  const Mapper m{spec};
  const auto ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  if (ext == ".svg") {
    std::ostringstream o;
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kW << "' height='" << kH
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    o << "<text x='" << kW / 2 << "' y='22' text-anchor='middle' font-size='15'>" << esc(spec.title) << "</text>\n";
    for (const auto& [v, label] : x_ticks(spec)) {
      o << "<line x1='" << m.fx(v) << "' y1='" << kT << "' x2='" << m.fx(v) << "' y2='" << kH - kB << "' stroke='#ddd'/>"
        << "<text x='" << m.fx(v) << "' y='" << kH - kB + 16 << "' text-anchor='middle'>" << label << "</text>\n";
    }
    for (int i = 0; i <= 5; ++i) {
      const double v = spec.y_min + i * (spec.y_max - spec.y_min) / 5;
      o << "<line x1='" << kL << "' y1='" << m.fy(v) << "' x2='" << kW - kR << "' y2='" << m.fy(v) << "' stroke='#ddd'/>"
        << "<text x='" << kL - 6 << "' y='" << m.fy(v) + 4 << "' text-anchor='end'>" << v << "</text>\n";
    }
    o << "<rect x='" << kL << "' y='" << kT << "' width='" << kW - kL - kR << "' height='" << kH - kT - kB
      << "' fill='none' stroke='black'/>\n";
    o << "<text x='" << (kL + kW - kR) / 2 << "' y='" << kH - 20 << "' text-anchor='middle'>" << esc(spec.xlabel) << "</text>\n";
    o << "<text transform='translate(18," << (kT + kH - kB) / 2 << ") rotate(-90)' text-anchor='middle'>" << esc(spec.ylabel) << "</text>\n";
    for (std::size_t i = 0; i < series.size(); ++i) {
      const char* col = kColours[i % 6];
      o << "<polyline fill='none' stroke='" << col << "' stroke-width='2' points='";
      for (const auto& [x, y] : series[i].points) o << m.fx(x) << "," << m.fy(y) << " ";
      o << "'/>\n<text x='" << kW - kR - 10 << "' y='" << legend_y(series.size(), i) << "' text-anchor='end' fill='" << col << "'>" << esc(series[i].label) << "</text>\n";
    }
    o << "</svg>\n";
    std::ofstream f(path);
    if (!(f << o.str())) return make_error(Reason::kIoError, "cannot write " + path);
    return ok_status();
  }
  if (ext == ".png") {
    cv::Mat img(kH, kW, CV_8UC3, cv::Scalar(255, 255, 255));
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    cv::putText(img, spec.title, {kL, 25}, font, 0.6, {0, 0, 0}, 1, cv::LINE_AA);
    for (const auto& [v, label] : x_ticks(spec)) {
      const int x = static_cast<int>(m.fx(v));
      cv::line(img, {x, kT}, {x, kH - kB}, {221, 221, 221});
      cv::putText(img, label, {x - 14, kH - kB + 18}, font, 0.4, {0, 0, 0}, 1, cv::LINE_AA);
    }
    for (int i = 0; i <= 5; ++i) {
      const double v = spec.y_min + i * (spec.y_max - spec.y_min) / 5;
      const int y = static_cast<int>(m.fy(v));
      cv::line(img, {kL, y}, {kW - kR, y}, {221, 221, 221});
      std::ostringstream o;
      o << v;
      cv::putText(img, o.str(), {kL - 40, y + 4}, font, 0.4, {0, 0, 0}, 1, cv::LINE_AA);
    }
    cv::rectangle(img, {kL, kT}, {kW - kR, kH - kB}, {0, 0, 0});
    cv::putText(img, spec.xlabel, {(kL + kW) / 2 - 40, kH - 20}, font, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
    cv::putText(img, spec.ylabel, {5, kT - 8}, font, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
    for (std::size_t i = 0; i < series.size(); ++i) {
      const auto col = bgr(kColours[i % 6]);
      std::vector<cv::Point> pts;
      for (const auto& [x, y] : series[i].points) pts.emplace_back(static_cast<int>(m.fx(x)), static_cast<int>(m.fy(y)));
      cv::polylines(img, pts, false, col, 2, cv::LINE_AA);
      int baseline = 0;
      const auto sz = cv::getTextSize(series[i].label, font, 0.45, 1, &baseline);
      cv::putText(img, series[i].label, {kW - kR - 10 - sz.width, legend_y(series.size(), i)}, font, 0.45, col, 1,
                  cv::LINE_AA);
    }
    if (!cv::imwrite(path, img)) return make_error(Reason::kIoError, "cannot write " + path);
    return ok_status();
  }
  return make_error(Reason::kUsage, "plot file must end in .svg or .png");
}

}  // namespace simkyc::cli
