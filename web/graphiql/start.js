// Starts GraphiQL from the vendored UMD builds (window.React, window.ReactDOM,
// window.GraphiQL). The page's JSON block carries the endpoint, the headers a new tab starts
// with and the example tab, so that this file holds no settings of its own.
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: config.headers,
      defaultTabs: config.tabs,
      defaultEditorToolsVisibility: 'headers',
      // Tokens stay out of localStorage: the headers pane is not saved across reloads.
      shouldPersistHeaders: false,
      storage: GraphiQL.createLocalStorage({ namespace: 'partner-gateway' }),
    })
  );
})();
