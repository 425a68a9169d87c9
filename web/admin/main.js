// Starts the console: requests the token, draws the tab bar and runs the screen named in the
// URL fragment (#overview, #matches, …). The fragment never carries the token.
(function () {
  'use strict';

  var Admin = window.Admin;
  var dom = Admin.dom;
  var h = dom.h;
  var api = Admin.api;

  var elements = {
    login: document.getElementById('login'),
    loginForm: document.getElementById('login-form'),
    token: document.getElementById('token'),
    app: document.getElementById('app'),
    tabs: document.getElementById('tabs'),
    errors: document.getElementById('errors'),
    screen: document.getElementById('screen'),
    viewer: document.getElementById('viewer'),
    logout: document.getElementById('logout'),
  };

  var statsWindow = 'LAST_7_DAYS';
  // Increases with every screen change, so that a late response for an earlier screen is dropped.
  var generation = 0;

  function showErrors(error) {
    var errors = error && error.errors ? error.errors : [{ message: String(error), code: '' }];
    dom.clear(elements.errors).appendChild(
      h(
        'ul',
        null,
        errors.map(function (e) {
          return h(
            'li',
            { 'data-error-code': e.code || '' },
            h('strong', null, e.code || '错误'),
            '：',
            e.message,
            e.path ? h('small', { class: 'muted' }, '（', e.path, '）') : null
          );
        })
      )
    );
    elements.errors.hidden = false;
    var unauthenticated = errors.some(function (e) {
      return e.code === 'UNAUTHENTICATED';
    });
    if (unauthenticated) {
      api.token.clear();
      showLogin('令牌无效或已吊销，请重新输入。');
    }
  }

  function hideErrors() {
    elements.errors.hidden = true;
    dom.clear(elements.errors);
  }

  function showViewer(viewer) {
    if (viewer) {
      dom.setUtcOffset(viewer.utcOffsetHours);
      dom.clear(elements.viewer).appendChild(document.createTextNode(viewer.name + '（' + dom.label('Role', viewer.role) + '）'));
    }
  }

  // Builds what a screen gets. `load` runs the screen's one query and marks the screen loading,
  // ready or failed. `mutate` runs a mutation or a sub-list page without replacing the screen.
  // `show` replaces the screen's content, and `window` reads or sets the shared window.
  function makeContext(key) {
    var mine = ++generation;
    var current = function () {
      return mine === generation;
    };
    return {
      load: function (query, variables) {
        elements.screen.setAttribute('data-status', 'loading');
        return api.request(query, variables).then(
          function (data) {
            if (!current()) {
              return new Promise(function () {});
            }
            hideErrors();
            showViewer(data.viewer);
            return data;
          },
          function (error) {
            if (current()) {
              elements.screen.setAttribute('data-status', 'error');
              showErrors(error);
            }
            return new Promise(function () {});
          }
        );
      },
      mutate: function (query, variables) {
        return api.request(query, variables).then(
          function (data) {
            hideErrors();
            return data;
          },
          function (error) {
            showErrors(error);
            throw error;
          }
        );
      },
      show: function () {
        if (!current()) {
          return;
        }
        var content = dom.clear(elements.screen);
        var nodes = Array.prototype.slice.call(arguments);
        content.appendChild(h('div', { class: 'screen-body' }, nodes));
        elements.screen.setAttribute('data-screen', key);
        elements.screen.setAttribute('data-window', statsWindow);
        elements.screen.setAttribute('data-status', 'ready');
      },
      window: function (value) {
        if (value) {
          statsWindow = value;
        }
        return statsWindow;
      },
      navigate: function (target) {
        window.location.hash = '#' + target;
      },
    };
  }

  function screenFor(key) {
    return (
      Admin.screens.find(function (screen) {
        return screen.key === key;
      }) || Admin.screens[0]
    );
  }

  function run() {
    if (!api.token.get()) {
      showLogin();
      return;
    }
    var screen = screenFor(window.location.hash.slice(1));
    Array.prototype.forEach.call(elements.tabs.children, function (link) {
      link.setAttribute('aria-current', link.getAttribute('data-screen') === screen.key ? 'page' : 'false');
    });
    elements.screen.setAttribute('data-screen', screen.key);
    screen.render(makeContext(screen.key));
  }

  function showLogin(message) {
    elements.app.hidden = true;
    elements.logout.hidden = true;
    elements.login.hidden = false;
    dom.clear(elements.viewer);
    var note = elements.loginForm.querySelector('.warning');
    if (note) {
      note.remove();
    }
    if (message) {
      elements.loginForm.appendChild(h('p', { class: 'warning' }, message));
    }
    elements.token.focus();
  }

  function showApp() {
    elements.login.hidden = true;
    elements.app.hidden = false;
    elements.logout.hidden = false;
    run();
  }

  Admin.screens.forEach(function (screen) {
    elements.tabs.appendChild(h('a', { href: '#' + screen.key, 'data-screen': screen.key }, screen.title));
  });

  elements.loginForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var value = elements.token.value.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      return;
    }
    api.token.set(value);
    elements.token.value = '';
    showApp();
  });

  elements.logout.addEventListener('click', function () {
    api.token.clear();
    generation++;
    dom.clear(elements.screen);
    hideErrors();
    showLogin();
  });

  window.addEventListener('hashchange', function () {
    if (api.token.get()) {
      run();
    }
  });

  if (api.token.get()) {
    showApp();
  } else {
    showLogin();
  }
})();
