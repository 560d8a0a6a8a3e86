// The embedded front end and /docs page (console/web): every file index.html names is embedded
// with the right type, and the docs page's scripts and styles are all local (no CDN).
#include "console/assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "console/docs_assets.hpp"

namespace {

using tributary::console::FindAsset;
using tributary::docs::FindDocsAsset;

// The src/href values of <script> and <link> tags in an HTML page.
std::vector<std::string> References(std::string_view html) {
    std::vector<std::string> out;
    const std::string text(html);
    const std::regex ref(R"re((?:src|href)="([^"]+)")re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), ref);
         it != std::sregex_iterator(); ++it) {
        out.push_back((*it)[1].str());
    }
    return out;
}

TEST(ConsoleAssets, IndexNamesHashedBundleThatIsEmbedded) {
    const auto* index = FindAsset("/index.html");
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    int scripts = 0, styles = 0;
    for (const std::string& path : References(index->body)) {
        if (path.rfind("data:", 0) == 0) continue;
        ASSERT_EQ(path.rfind("/assets/app-", 0), 0u) << path;  // hashed name: cacheable forever
        const auto* asset = FindAsset(path);
        ASSERT_NE(asset, nullptr) << path;
        EXPECT_GT(asset->body.size(), 1000u) << path;
        if (path.ends_with(".js")) {
            ++scripts;
            EXPECT_EQ(asset->content_type, "text/javascript; charset=utf-8");
        } else if (path.ends_with(".css")) {
            ++styles;
            EXPECT_EQ(asset->content_type, "text/css; charset=utf-8");
        }
    }
    EXPECT_EQ(scripts, 1);
    EXPECT_EQ(styles, 1);
    EXPECT_EQ(FindAsset("/assets/nope.js"), nullptr);
    EXPECT_EQ(FindAsset(""), nullptr);
}

TEST(DocsAssets, PageLoadsOnlyLocalFilesAndRendersOpenApi) {
    const auto* page = FindDocsAsset("/docs");
    ASSERT_NE(page, nullptr);
    EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
    EXPECT_NE(page->body.find("/openapi.json"), std::string_view::npos);
    int files = 0;
    for (const std::string& path : References(page->body)) {
        if (path.rfind("data:", 0) == 0) continue;
        ASSERT_EQ(path.rfind("/docs/", 0), 0u) << "not local: " << path;
        const auto* asset = FindDocsAsset(path);
        ASSERT_NE(asset, nullptr) << path;
        ++files;
    }
    EXPECT_EQ(files, 4);  // swagger-ui's bundle and CSS, the initializer, our CSS
    EXPECT_EQ(FindDocsAsset("/docs/missing.js"), nullptr);
}

}  // namespace
