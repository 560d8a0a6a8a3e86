#pragma once

#include "common/http/server.hpp"

namespace tributary::console {

// GET / and every non-/api path: the embedded UI (console/assets.hpp). Unknown paths answer
// index.html (client-side routes); /api/... paths nobody registered stay 404 JSON. HTML gets a
// self-only Content-Security-Policy, nosniff and no-referrer; hashed /assets/ files are
// immutable, index.html no-cache. Without a built UI, / answers 503 naming the cause. Register
// last.
void RegisterStaticRoutes(common::http::Server& server);

}  // namespace tributary::console
