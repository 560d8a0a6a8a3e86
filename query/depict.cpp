#include "query/depict.hpp"

#include "common/http_util.hpp"

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <RDGeneral/RDLog.h>

#include <charconv>
#include <memory>
#include <mutex>

namespace tributary::query {
namespace {

void InvalidParameter(httplib::Response& response, const std::string& field,
                      const std::string& reason) {
    common::SetError(response, 400, "invalid_parameter", field + ": " + reason,
                     nlohmann::json::array({{{"field", field}, {"reason", reason}}}));
}

// A size parameter in pixels, 50..2000 (default 300); nullopt when present but invalid.
std::optional<int> SizeParam(const httplib::Request& request, const char* name) {
    if (!request.has_param(name)) return 300;
    const std::string text = request.get_param_value(name);
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 50 || value > 2000) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

DepictResult DepictSmiles(const std::string& smiles, int width, int height) {
    // RDKit logs every parse failure to stderr; the caller gets the error in the answer.
    static std::once_flag once;
    std::call_once(once, [] { boost::logging::disable_logs("rdApp.*"); });
    DepictResult result;
    if (smiles.empty()) {
        result.error = "is empty";
        return result;
    }
    try {
        std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(smiles));
        if (!mol || mol->getNumAtoms() == 0) {
            result.error = "is not a parsable structure";
            return result;
        }
        RDDepict::compute2DCoords(*mol);
        RDKit::MolDraw2DSVG drawer(width, height);
        RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, *mol);
        drawer.finishDrawing();
        result.svg = drawer.getDrawingText();
    } catch (const std::exception& e) {
        // Sanitization (valence, kekulization) and drawing errors are properties of the input.
        result.error = std::string("is not a valid structure: ") + e.what();
    }
    return result;
}

void RegisterDepictRoute(common::http::Server& server, common::auth::Authorize authorize) {
    server.Get("/api/v1/research/depict.svg",
               [authorize = std::move(authorize)](const httplib::Request& request,
                                                  httplib::Response& response) {
                   if (!authorize(request, response, common::auth::Scope::kQuery)) return;
                   if (!request.has_param("smiles")) {
                       InvalidParameter(response, "smiles", "is required");
                       return;
                   }
                   const std::string smiles = request.get_param_value("smiles");
                   if (smiles.size() > kMaxDepictSmilesLength) {
                       InvalidParameter(response, "smiles",
                                        "is longer than " + std::to_string(kMaxDepictSmilesLength) +
                                            " characters");
                       return;
                   }
                   const auto width = SizeParam(request, "width");
                   const auto height = SizeParam(request, "height");
                   if (!width || !height) {
                       InvalidParameter(response, width ? "height" : "width",
                                        "must be an integer from 50 to 2000");
                       return;
                   }
                   const DepictResult drawn = DepictSmiles(smiles, *width, *height);
                   if (!drawn.svg) {
                       InvalidParameter(response, "smiles", drawn.error);
                       return;
                   }
                   // A drawing depends only on the URL; private: the request carried a credential.
                   response.set_header("Cache-Control", "private, max-age=86400");
                   response.set_header("X-Content-Type-Options", "nosniff");
                   response.set_content(*drawn.svg, "image/svg+xml");
               });
}

}  // namespace tributary::query
