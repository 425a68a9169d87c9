// Starts GraphiQL from the vendored UMD builds (window.React, window.ReactDOM,
// window.GraphiQL). The page's JSON block carries the endpoint, the headers a new tab starts
// with and the example tab, so that this file holds no settings of its own.
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var send = GraphiQL.createFetcher({ url: config.endpoint });

  // Until a token is filled in, this fetcher handles every request itself, the schema request
  // GraphiQL makes on opening included, and returns what to do instead of UNAUTHENTICATED.
  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    var authorization = String(headers.Authorization || headers.authorization || '').trim();
    if (/^Bearer$/i.test(authorization) || authorization === '') {
      return Promise.resolve({
        errors: [
          {
            message:
              'Fill in your token in the Headers pane below, as {"Authorization": "Bearer pgw_…"}, ' +
              'then run the query. An admin creates tokens with `partner-gateway token create`.',
          },
        ],
      });
    }
    return send(params, options);
  }

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
