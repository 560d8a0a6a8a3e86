#include "publisher/routes.hpp"

#include <string_view>
#include <utility>
#include <vector>

namespace tributary::publisher {

// Defined in the file generated from publisher/openapi.json (see CMakeLists.txt).
const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedOpenApi();

const std::string& PublisherOpenApi() {
    static const std::string document(EmbeddedOpenApi().front().second);
    return document;
}

}  // namespace tributary::publisher
