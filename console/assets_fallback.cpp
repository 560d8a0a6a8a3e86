// Used when the front end is not built: no path has an asset (the API still works).
#if __has_include("console/assets.hpp")
#include "console/assets.hpp"
#else
#include <string_view>
namespace tributary::console {
struct Asset {
    std::string_view path;
    std::string_view content_type;
    std::string_view body;
};
}  // namespace tributary::console
#endif

namespace tributary::console {
const Asset* FindAsset(std::string_view /*path*/) { return nullptr; }
}  // namespace tributary::console
