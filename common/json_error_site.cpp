#include "common/json_error_site.hpp"

#include <nlohmann/json.hpp>

namespace tributary::common {
namespace {

// Follows the parser through the document; a value's path is known when it starts, and an
// array's index moves on once its element is complete.
class PathTracker {
  public:
    using json = nlohmann::json;

    bool null() { return Value(); }
    bool boolean(bool) { return Value(); }
    bool number_integer(json::number_integer_t) { return Value(); }
    bool number_unsigned(json::number_unsigned_t) { return Value(); }
    bool number_float(json::number_float_t, const json::string_t&) { return Value(); }
    bool string(json::string_t&) { return Value(); }
    bool binary(json::binary_t&) { return Value(); }
    bool start_object(size_t) {
        frames_.push_back({false, 0, {}});
        return true;
    }
    bool key(json::string_t& key) {
        frames_.back().key = key;
        return true;
    }
    bool end_object() {
        frames_.pop_back();
        return Value();
    }
    bool start_array(size_t) {
        frames_.push_back({true, 0, {}});
        return true;
    }
    bool end_array() {
        frames_.pop_back();
        return Value();
    }
    bool parse_error(size_t position, const std::string& last_token,
                     const nlohmann::detail::exception& error) {
        JsonErrorSite site;
        site.byte = position;
        site.token = last_token;
        site.message = error.what();
        for (const Frame& frame : frames_) {
            if (frame.array) {
                site.path.push_back({{}, frame.next_index});
            } else {
                site.path.push_back({frame.key, std::nullopt});
            }
        }
        site_ = std::move(site);
        return false;
    }

    std::optional<JsonErrorSite> TakeSite() { return std::move(site_); }

  private:
    struct Frame {
        bool array = false;
        size_t next_index = 0;
        std::string key;  // of the member being read
    };

    bool Value() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().next_index;
        return true;
    }

    std::vector<Frame> frames_;
    std::optional<JsonErrorSite> site_;
};

}  // namespace

std::optional<JsonErrorSite> LocateJsonError(std::string_view text) {
    PathTracker tracker;
    if (nlohmann::json::sax_parse(text, &tracker)) return std::nullopt;
    return tracker.TakeSite();
}

std::string JsonPathText(const std::vector<JsonPathStep>& path, size_t from) {
    std::string out;
    for (size_t i = from; i < path.size(); ++i) {
        if (path[i].index) {
            out += '[';
            out += std::to_string(*path[i].index);
            out += ']';
        } else {
            if (!out.empty()) out += '.';
            out += path[i].key;
        }
    }
    return out;
}

}  // namespace tributary::common
