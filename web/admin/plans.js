// The 存客宝计划 tab: every plan with its numbers, its lead interface and a test lead button,
// then the FAILED and REJECTED leads with a retry button each.
(function () {
  'use strict';

  var Admin = (window.Admin = window.Admin || {});
  var dom = Admin.dom;
  var h = dom.h;
  var fmt = dom.fmt;
  var widgets = Admin.widgets;
  var queries = Admin.api.queries;
  var LEADS_PAGE = 20;

  function definition(term, value) {
    return h('div', null, h('dt', null, term), h('dd', null, value));
  }

  function pre(value, name) {
    return h('pre', { class: 'code', 'data-code': name || null }, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }

  function planInterface(plan) {
    var api = plan.interface;
    return h(
      'details',
      { class: 'interface', 'data-interface': plan.id },
      h('summary', null, '计划接口（接口地址、字段、签名示例）'),
      h(
        'dl',
        { class: 'pairs' },
        definition('接口地址', h('code', null, api.method, ' ', api.url)),
        definition('Content-Type', api.contentTypes.join('，')),
        definition('本计划发送方式', plan.contentType),
        definition('apiKey', h('code', { 'data-api-key': plan.id }, plan.apiKeyMasked)),
        definition('CKB 计划 ID (remotePlanId)', plan.remotePlanId || h('span', { class: 'warning' }, '未设置：读不到 CKB 的统计和好友状态'))
      ),
      dom.table(
        [
          { title: '字段', cell: function (f) { return h('code', null, f.name); } },
          { title: '类型', cell: function (f) { return f.typeName; } },
          { title: '要求', cell: function (f) { return dom.label('FieldRequirement', f.requirement); } },
          { title: '参与签名', cell: function (f) { return f.signed ? '是' : '否'; } },
          { title: '说明', cell: function (f) { return f.descriptionZh; } },
        ],
        api.fields
      ),
      h('h4', null, '签名示例（apiKey 已打码）'),
      h('dl', { class: 'pairs' }, definition('待签名串', h('code', null, api.example.stringToSign)), definition('sign', h('code', null, api.example.sign))),
      pre(api.example.body, 'example-body'),
      pre(api.example.curl, 'example-curl')
    );
  }

  // Shows CKB's exact response to a test lead: its kind (CkbAnswer), the HTTP status, code,
  // message and body as received.
  function testResult(result) {
    return h(
      'div',
      { class: 'test-result test-' + result.answer.toLowerCase(), 'data-test-answer': result.answer },
      h(
        'dl',
        { class: 'pairs' },
        definition('结果', dom.badge('CkbAnswer', result.answer)),
        definition('HTTP 状态', result.httpStatus === null ? '无应答' : String(result.httpStatus)),
        definition('CKB code', result.ckbCode === null ? '—' : String(result.ckbCode)),
        definition('CKB message', h('strong', { 'data-ckb-message': 'true' }, result.ckbMessage === null ? '—' : result.ckbMessage)),
        definition('耗时', result.durationMs + ' ms'),
        result.error ? definition('错误', h('span', { class: 'warning' }, result.error)) : null
      ),
      h('h4', null, 'CKB 应答原文'),
      pre(result.body === null ? '（没有应答）' : result.body, 'test-body'),
      h('h4', null, '发送的请求（apiKey 已打码）'),
      pre(result.request.curl, 'test-request')
    );
  }

  function planCard(ctx, plan) {
    var output = h('div', { class: 'test-output', 'data-test-output': plan.id });
    var stats = plan.stats;
    var button = h(
      'button',
      {
        type: 'button',
        'data-send-test-lead': plan.id,
        onclick: function () {
          button.disabled = true;
          dom.clear(output).appendChild(h('p', { class: 'muted' }, '正在发送测试线索（测试客户 18888888888）…'));
          ctx.mutate(queries.sendTestLead, { planId: plan.id }).then(
            function (data) {
              dom.clear(output).appendChild(testResult(data.sendTestLead));
              button.disabled = false;
            },
            function () {
              dom.clear(output);
              button.disabled = false;
            }
          );
        },
      },
      '发送测试线索'
    );
    return h(
      'section',
      { class: 'plan', 'data-plan': plan.id },
      h(
        'h3',
        null,
        plan.name,
        ' ',
        h('small', { class: 'muted' }, '#', plan.id, ' · ', dom.label('LeadOrigin', plan.purpose)),
        plan.isDefault ? h('span', { class: 'badge' }, '链接卡若默认') : null,
        plan.enabled ? null : h('span', { class: 'badge badge-closed' }, '已停用')
      ),
      h(
        'dl',
        { class: 'stats' },
        definition('添加成功率', widgets.addRate(stats, 'plans.' + plan.id)),
        definition('获客 (acquired)', stats.remote ? fmt.int(stats.remote.acquired) : '—'),
        definition('已添加 (processed)', stats.remote ? fmt.int(stats.remote.processed) : '—'),
        definition('通过 (passed)', stats.remote ? fmt.int(stats.remote.passed) : '—'),
        definition('CKB passRate 原值', stats.remote ? h('span', { title: '不作为添加成功率使用' }, stats.remote.passRateRaw) : '—'),
        definition('CKB 数据时间', widgets.remoteAge(stats)),
        definition('最近线索', fmt.time(stats.lastLeadAt))
      ),
      stats.remoteError ? h('p', { class: 'warning', 'data-remote-error': plan.id }, 'remoteError：', stats.remoteError) : null,
      h('h4', null, '网关的线索（', dom.label('StatsWindow', ctx.window()), '）'),
      widgets.leadCountsList('plans.' + plan.id + '.local', stats.local),
      planInterface(plan),
      h('div', { class: 'actions' }, button),
      output
    );
  }

  // A list of leads in one delivery status, with its own pager and a retry button per lead.
  function leadList(ctx, status, first, reloadScreen) {
    var cursors = [null];
    var box = h('section', { class: 'leads', 'data-leads': status });

    function draw(connection) {
      var page = cursors.length - 1;
      dom.clear(box).appendChild(h('h3', null, dom.label('DeliveryStatus', status), '的线索（', status, '）共 ', fmt.int(connection.totalCount), ' 条'));
      box.appendChild(
        dom.table(
          [
            { title: 'ID', class: 'num', cell: function (l) { return l.id; } },
            { title: '计划', cell: function (l) { return l.plan.name; } },
            { title: '来源', cell: function (l) { return dom.label('LeadOrigin', l.origin) + (l.originId ? ' #' + l.originId : ''); } },
            { title: '姓名', cell: function (l) { return l.name; } },
            { title: '标识', cell: function (l) { return l.identifier; } },
            { title: '尝试', class: 'num', cell: function (l) { return l.attempts; } },
            { title: 'CKB 应答', cell: function (l) { return (l.ckbCode === null ? '' : l.ckbCode + ' ') + (l.ckbMessage || ''); } },
            { title: '原因', cell: function (l) { return l.lastError || '—'; } },
            { title: '提交时间', cell: function (l) { return fmt.time(l.createdAt); } },
            {
              title: '操作',
              cell: function (l) {
                var result = h('span', { class: 'retry-result' });
                return h(
                  'span',
                  null,
                  h(
                    'button',
                    {
                      type: 'button',
                      'data-retry-lead': l.id,
                      onclick: function (event) {
                        event.target.disabled = true;
                        ctx.mutate(queries.retryLead, { id: l.id }).then(
                          function (data) {
                            var lead = data.retryLead.lead;
                            dom.clear(result).appendChild(
                              h('span', null, ' → ', dom.badge('DeliveryStatus', lead.deliveryStatus), ' ', lead.ckbMessage || lead.lastError || '')
                            );
                          },
                          function () {
                            event.target.disabled = false;
                          }
                        );
                      },
                    },
                    '重试'
                  ),
                  result
                );
              },
            },
          ],
          connection.nodes,
          '没有' + dom.label('DeliveryStatus', status) + '的线索'
        )
      );
      box.appendChild(
        h(
          'div',
          { class: 'pager' },
          h('span', null, '第 ', page + 1, ' 页'),
          h('button', { type: 'button', disabled: page === 0, onclick: function () { cursors.pop(); fetchPage(); } }, '上一页'),
          h(
            'button',
            {
              type: 'button',
              disabled: !connection.pageInfo.hasNextPage,
              onclick: function () {
                cursors.push(connection.pageInfo.endCursor);
                fetchPage();
              },
            },
            '下一页'
          ),
          h('button', { type: 'button', class: 'link', onclick: reloadScreen }, '刷新')
        )
      );
    }

    function fetchPage() {
      ctx.mutate(queries.leadsPage, { first: LEADS_PAGE, after: cursors[cursors.length - 1], status: status }).then(function (data) {
        draw(data.list);
      });
    }

    draw(first);
    return box;
  }

  var plans = {
    key: 'plans',
    title: '存客宝计划',
    render: function (ctx) {
      var reload = function () {
        plans.render(ctx);
      };
      ctx.load(queries.ckbPlans, { window: ctx.window(), leadsFirst: LEADS_PAGE }).then(function (data) {
        ctx.show(
          h('div', { class: 'toolbar' }, widgets.windowPicker(ctx, reload), h('span', { class: 'muted' }, '窗口只影响网关的线索数；CKB 的数字是计划的全部时间。')),
          data.ckbPlans.length
            ? data.ckbPlans.map(function (plan) {
                return planCard(ctx, plan);
              })
            : h('p', { class: 'empty' }, '还没有存客宝计划'),
          h('h2', null, '需要处理的线索'),
          h('p', { class: 'hint' }, '先排除原因（apiKey 错误、计划停用、CKB 不可达），再点重试；重试会给线索一轮新的投递次数，并等待 CKB 的应答。'),
          leadList(ctx, 'FAILED', data.failed, reload),
          leadList(ctx, 'REJECTED', data.rejected, reload)
        );
      });
    },
  };

  Admin.screens.push(plans);
})();
