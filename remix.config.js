// Remix v2, classic compiler. The portal's app directory is portal/; the server build
// is loaded by portal/server.ts, which also serves webhooks, OAuth callbacks and probes.
/** @type {import('@remix-run/dev').AppConfig} */
export default {
  appDirectory: 'portal',
  ignoredRouteFiles: ['**/.*', '**/*.test.*'],
  serverBuildPath: 'build/portal/index.js',
  assetsBuildDirectory: 'public/build',
  publicPath: '/build/',
  serverModuleFormat: 'esm',
  serverPlatform: 'node',
  // core/ is reached through the load context, never bundled twice.
  serverDependenciesToBundle: [],
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: false,
  },
};
