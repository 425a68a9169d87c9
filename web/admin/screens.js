// The overview and the list tabs of the console (匹配记录, 伙伴池, 导师预约, 资源对接, 团队招募).
// The 存客宝计划 tab is in plans.js. Each screen is { key, title, render(ctx) }; main.js owns
// `ctx` (see makeContext there).
(function () {
  'use strict';

  var Admin = (window.Admin = window.Admin || {});
  var dom = Admin.dom;
  var h = dom.h;
  var fmt = dom.fmt;
  var queries = Admin.api.queries;
  var PAGE_SIZE = 20;

  // ---- 概览 ----

  var WINDOWS = ['TODAY', 'LAST_7_DAYS', 'LAST_30_DAYS', 'ALL'];

  function windowPicker(ctx, onChange) {
    return h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': '统计窗口' },
      WINDOWS.map(function (window) {
        return h(
          'button',
          {
            type: 'button',
            'data-window': window,
            'aria-pressed': window === ctx.window() ? 'true' : 'false',
            onclick: function () {
              ctx.window(window);
              onChange();
            },
          },
          dom.label('StatsWindow', window)
        );
      })
    );
  }

  function leadCountsList(prefix, counts) {
    var items = [
      ['submitted', '提交'],
      ['created', '新增成功'],
      ['existing', '已存在'],
      ['pending', '待投递'],
      ['rejected', '被拒绝'],
      ['failed', '投递失败'],
      ['accepted', '已接收'],
      ['friendsAdded', '好友已通过'],
    ];
    return h(
      'dl',
      { class: 'stats' },
      items.map(function (item) {
        return h('div', null, h('dt', null, item[1]), h('dd', null, dom.metric(prefix + '.' + item[0], counts[item[0]])));
      }),
      h('div', null, h('dt', null, '投递成功率'), h('dd', null, dom.metric(prefix + '.deliverySuccessRate', counts.deliverySuccessRate, fmt.pct)))
    );
  }

  // The add success rate of a plan with the numbers it comes from.
  function addRate(stats, key) {
    var remote = stats.remote;
    return h(
      'div',
      { class: 'rate' },
      h('strong', null, dom.metric(key + '.addSuccessRate', stats.addSuccessRate, fmt.pct)),
      remote ? h('small', null, '通过 ', fmt.int(remote.passed), ' / 获客 ', fmt.int(remote.acquired)) : null
    );
  }

  function remoteAge(stats) {
    if (!stats.remote) {
      return h('span', { class: 'muted' }, '无 CKB 数据');
    }
    return h('span', { title: fmt.time(stats.remote.fetchedAt) }, fmt.age(stats.remote.fetchedAt));
  }

  function remoteError(stats) {
    return stats.remoteError ? h('span', { class: 'warning', 'data-remote-error': 'true' }, stats.remoteError) : '—';
  }

  function planStatsTable(plans) {
    var columns = [
      {
        title: '计划',
        cell: function (s) {
          return h('span', null, s.plan.name, s.plan.isDefault ? h('span', { class: 'badge' }, '链接卡若默认') : null, s.plan.enabled ? null : h('span', { class: 'badge badge-closed' }, '已停用'));
        },
      },
      { title: '用途', cell: function (s) { return dom.label('LeadOrigin', s.plan.purpose); } },
      { title: '添加成功率', cell: function (s) { return addRate(s, 'plan.' + s.plan.id); } },
    ];
    [
      ['acquired', '获客 (acquired)'],
      ['processed', '已添加 (processed)'],
      ['passed', '通过 (passed)'],
    ].forEach(function (item) {
      columns.push({
        title: item[1],
        class: 'num',
        cell: function (s) {
          return dom.metric('plan.' + s.plan.id + '.' + item[0], s.remote ? s.remote[item[0]] : null);
        },
      });
    });
    columns.push({ title: 'CKB 数据时间', cell: remoteAge });
    [
      ['submitted', '提交'],
      ['created', '新增成功'],
      ['existing', '已存在'],
      ['pending', '待投递'],
      ['rejected', '被拒绝'],
      ['failed', '投递失败'],
    ].forEach(function (item) {
      columns.push({
        title: item[1],
        class: 'num',
        cell: function (s) {
          return dom.metric('plan.' + s.plan.id + '.' + item[0], s.local[item[0]]);
        },
      });
    });
    columns.push({ title: 'remoteError', cell: remoteError });
    return dom.table(columns, plans, '还没有存客宝计划');
  }

  var overview = {
    key: 'overview',
    title: '概览',
    render: function (ctx) {
      var reload = function () {
        overview.render(ctx);
      };
      ctx.load(queries.overview, { window: ctx.window() }).then(function (data) {
        var o = data.findPartnerOverview;
        ctx.show(
          h(
            'div',
            { class: 'toolbar' },
            windowPicker(ctx, reload),
            h('span', { class: 'muted' }, o.since ? '自 ' + fmt.time(o.since) + ' 起' : '全部时间', '，生成于 ', fmt.time(o.generatedAt), '（' + dom.zoneLabel() + '）')
          ),
          h('h2', null, '各标签页'),
          h(
            'div',
            { class: 'cards' },
            o.tabs.map(function (tab) {
              var scope = '全部（配置项，不按窗口）';
              if (tab.windowed && o.window === 'ALL') {
                scope = '累计';
              } else if (tab.windowed) {
                scope = dom.label('StatsWindow', o.window) + '内新增';
              }
              return h(
                'button',
                { type: 'button', class: 'card', 'data-tab': tab.key, onclick: function () { ctx.navigate(TAB_SCREENS[tab.key]); } },
                h('span', { class: 'card-label' }, tab.labelZh),
                h('span', { class: 'card-value' }, dom.metric('tab.' + tab.key, tab.count)),
                h('small', null, scope)
              );
            })
          ),
          h('h2', null, '匹配'),
          h(
            'dl',
            { class: 'stats' },
            [
              ['matches', '匹配次数'],
              ['matchesWithLead', '产生线索'],
              ['matchLeadsAccepted', '线索已接收'],
              ['matchFriendsAdded', '好友已通过'],
            ].map(function (item) {
              return h('div', null, h('dt', null, item[1]), h('dd', null, dom.metric('totals.' + item[0], o.totals[item[0]])));
            })
          ),
          dom.table(
            [
              { title: '匹配类型', cell: function (k) { return k.labelZh; } },
              { title: '匹配次数', class: 'num', cell: function (k) { return dom.metric('kind.' + k.kind + '.matches', k.matches); } },
              { title: '产生线索', class: 'num', cell: function (k) { return dom.metric('kind.' + k.kind + '.matchesWithLead', k.matchesWithLead); } },
              { title: '线索已接收', class: 'num', cell: function (k) { return dom.metric('kind.' + k.kind + '.leadsAccepted', k.leadsAccepted); } },
              { title: '好友已通过', class: 'num', cell: function (k) { return dom.metric('kind.' + k.kind + '.friendsAdded', k.friendsAdded); } },
            ],
            o.matchesByKind
          ),
          h('h2', null, '线索（全部来源）'),
          leadCountsList('totals.leads', o.totals.leads),
          h('h2', null, '存客宝计划'),
          h('p', { class: 'hint' }, '添加成功率 = 通过 / 获客，两数都来自 CKB 的计划统计，覆盖计划在 CKB 的全部时间，不受窗口影响；提交到待投递几列是网关在窗口内存下的线索。'),
          planStatsTable(o.plans)
        );
      });
    },
  };

  // ---- Paged lists ----

  // Reads the filter form into the API's filter object. Field kinds: enum and text (strings),
  // id, bool ('true'/'false'), and range (two dates at the gateway's UTC offset, the end day included).
  function readFilter(form, fields) {
    var filter = {};
    fields.forEach(function (field) {
      if (field.type === 'range') {
        var from = form.elements[field.name + '-from'].value;
        var to = form.elements[field.name + '-to'].value;
        if (from || to) {
          filter[field.name] = { from: from ? dom.dayStart(from) : null, to: to ? dom.dayStart(to, 1) : null };
        }
        return;
      }
      var value = form.elements[field.name].value.trim();
      if (value === '') {
        return;
      }
      filter[field.name] = field.type === 'bool' ? value === 'true' : value;
    });
    return filter;
  }

  function filterInput(field, state, data) {
    var saved = state.form[field.name] || '';
    var input;
    if (field.type === 'enum') {
      input = dom.enumSelect(field.name, field.enumType, saved);
    } else if (field.type === 'bool') {
      input = h(
        'select',
        { name: field.name, id: 'filter-' + field.name },
        h('option', { value: '' }, '全部'),
        h('option', { value: 'true', selected: saved === 'true' }, field.yes),
        h('option', { value: 'false', selected: saved === 'false' }, field.no)
      );
    } else if (field.type === 'options') {
      input = h(
        'select',
        { name: field.name, id: 'filter-' + field.name },
        h('option', { value: '' }, '全部'),
        field.options(state, data).map(function (option) {
          return h('option', { value: option.value, selected: option.value === saved }, option.label);
        })
      );
    } else if (field.type === 'range') {
      return h(
        'label',
        { class: 'range' },
        field.label,
        h('input', { type: 'date', name: field.name + '-from', value: state.form[field.name + '-from'] || '' }),
        '至',
        h('input', { type: 'date', name: field.name + '-to', value: state.form[field.name + '-to'] || '' })
      );
    } else {
      input = h('input', {
        type: field.type === 'id' ? 'number' : 'search',
        min: field.type === 'id' ? '1' : null,
        name: field.name,
        id: 'filter-' + field.name,
        value: saved,
        placeholder: field.placeholder || '',
      });
    }
    return h('label', null, field.label, input);
  }

  // A paged list screen over a Relay connection aliased `list`, with the filters the API
  // offers. `spec`: key, title, query, filters, columns(ctx, reload), order (optional
  // { name, type, default }), header(ctx, data, reload) (optional).
  function listScreen(spec) {
    var state = { form: {}, filter: {}, order: spec.order ? spec.order.default : null, cursors: [null], total: null, data: null };

    var screen = {
      key: spec.key,
      title: spec.title,
      render: function (ctx) {
        var page = state.cursors.length - 1;
        var variables = { first: PAGE_SIZE, after: state.cursors[page], filter: state.filter, firstPage: page === 0 };
        if (spec.order) {
          variables.orderBy = state.order;
        }
        var reload = function () {
          screen.render(ctx);
        };
        ctx.load(spec.query, variables).then(function (data) {
          if (page === 0) {
            state.total = data.list.totalCount;
            state.data = data;
          }
          var form = h(
            'form',
            {
              class: 'filters',
              onsubmit: function (event) {
                event.preventDefault();
                Array.prototype.forEach.call(event.target.elements, function (element) {
                  if (element.name) {
                    state.form[element.name] = element.value;
                  }
                });
                state.filter = readFilter(event.target, spec.filters);
                if (spec.order) {
                  state.order = event.target.elements.orderBy.value;
                }
                state.cursors = [null];
                reload();
              },
            },
            spec.filters.map(function (field) {
              return filterInput(field, state, state.data);
            }),
            spec.order ? h('label', null, '排序', orderSelect(spec.order, state.order)) : null,
            h('button', { type: 'submit' }, '筛选'),
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: function () {
                  state.form = {};
                  state.filter = {};
                  state.order = spec.order ? spec.order.default : null;
                  state.cursors = [null];
                  reload();
                },
              },
              '清除'
            )
          );
          var pager = h(
            'div',
            { class: 'pager' },
            h('span', { 'data-total': state.total }, '共 ', fmt.int(state.total), ' 条，第 ', page + 1, ' 页'),
            h('button', {
              type: 'button',
              disabled: page === 0,
              onclick: function () {
                state.cursors.pop();
                reload();
              },
            }, '上一页'),
            h('button', {
              type: 'button',
              'data-next': 'true',
              disabled: !data.list.pageInfo.hasNextPage,
              onclick: function () {
                state.cursors.push(data.list.pageInfo.endCursor);
                reload();
              },
            }, '下一页')
          );
          ctx.show(
            spec.header ? spec.header(ctx, data, reload) : null,
            form,
            pager,
            dom.table(spec.columns(ctx, reload), data.list.nodes)
          );
        });
      },
    };
    return screen;
  }

  function orderSelect(order, value) {
    return h(
      'select',
      { name: 'orderBy', id: 'filter-orderBy' },
      Object.keys(order.labels).map(function (key) {
        return h('option', { value: key, selected: key === value }, order.labels[key]);
      })
    );
  }

  // ---- Cells shared by the lists ----

  function member(m) {
    return m ? h('span', { title: 'ID ' + m.id }, m.nickname, h('small', { class: 'muted' }, ' #', m.id)) : h('span', { class: 'muted' }, '—');
  }

  function leadDelivery(lead) {
    if (!lead) {
      return h('span', { class: 'muted' }, '无线索');
    }
    return h(
      'span',
      { title: 'CKB code ' + (lead.ckbCode === null ? '—' : lead.ckbCode) },
      dom.badge('DeliveryStatus', lead.deliveryStatus),
      // CKB's own words, unless they repeat the label (新增成功, 已存在).
      lead.ckbMessage && lead.ckbMessage !== dom.label('DeliveryStatus', lead.deliveryStatus)
        ? h('small', null, ' ', lead.ckbMessage)
        : null
    );
  }

  function leadFriend(lead) {
    return lead ? dom.badge('FriendStatus', lead.friendStatus) : h('span', { class: 'muted' }, '—');
  }

  // ---- 匹配记录 ----

  var matchRecords = listScreen({
    key: 'matches',
    title: '匹配记录',
    query: queries.matchRecords,
    order: { type: 'MatchRecordOrder', default: 'MATCHED_AT_DESC', labels: { MATCHED_AT_DESC: '最新匹配在前', MATCHED_AT_ASC: '最早匹配在前' } },
    filters: [
      { name: 'kind', label: '匹配类型', type: 'enum', enumType: 'MatchKind' },
      { name: 'status', label: '状态', type: 'enum', enumType: 'MatchStatus' },
      {
        name: 'poolId',
        label: '伙伴池',
        type: 'options',
        options: function (state, data) {
          return data && data.pools
            ? data.pools.nodes.map(function (pool) {
                return { value: pool.id, label: pool.name + '（' + dom.label('MatchKind', pool.kind) + '）' };
              })
            : [];
        },
      },
      { name: 'memberId', label: '成员 ID', type: 'id' },
      { name: 'keyword', label: '昵称', type: 'text', placeholder: '发起人或匹配对象' },
      { name: 'hasLead', label: '线索', type: 'bool', yes: '有线索', no: '无线索' },
      { name: 'leadStatus', label: '投递状态', type: 'enum', enumType: 'DeliveryStatus' },
      { name: 'friendStatus', label: '好友状态', type: 'enum', enumType: 'FriendStatus' },
      { name: 'matchedAt', label: '匹配日期', type: 'range' },
    ],
    columns: function () {
      return [
        { title: 'ID', class: 'num', cell: function (r) { return r.id; } },
        { title: '匹配时间', cell: function (r) { return fmt.time(r.matchedAt); } },
        { title: '类型', cell: function (r) { return dom.badge('MatchKind', r.kind); } },
        { title: '伙伴池', cell: function (r) { return r.pool.name; } },
        { title: '发起人', cell: function (r) { return member(r.requester); } },
        { title: '匹配对象', cell: function (r) { return member(r.partner); } },
        { title: '状态', cell: function (r) { return dom.badge('MatchStatus', r.status); } },
        { title: '线索投递', cell: function (r) { return leadDelivery(r.lead); } },
        { title: '好友状态', cell: function (r) { return leadFriend(r.lead); } },
      ];
    },
  });

  // ---- 伙伴池 ----

  function poolRules(pool) {
    var rules = [dom.label('PoolSource', pool.source)];
    if (pool.requiredTags.length) {
      rules.push('标签：' + fmt.list(pool.requiredTags));
    }
    if (pool.requirePhone) {
      rules.push('需手机号');
    }
    if (pool.requireWechat) {
      rules.push('需微信号');
    }
    rules.push(pool.excludeMatchedWithinDays ? pool.excludeMatchedWithinDays + ' 天内不重复' : '可重复匹配');
    rules.push(pool.dailyMatchLimit ? '每日 ' + pool.dailyMatchLimit + ' 次' : '每日不限');
    return rules.join('；');
  }

  var partnerPools = listScreen({
    key: 'pools',
    title: '伙伴池',
    query: queries.partnerPools,
    filters: [
      { name: 'kind', label: '匹配类型', type: 'enum', enumType: 'MatchKind' },
      { name: 'enabled', label: '启用', type: 'bool', yes: '已启用', no: '已停用' },
      { name: 'selected', label: '当前使用', type: 'bool', yes: '是', no: '否' },
      { name: 'keyword', label: '名称', type: 'text' },
    ],
    header: function (ctx, data) {
      return h(
        'div',
        { class: 'selected-pools' },
        h('h2', null, '每种匹配类型当前使用的池'),
        h(
          'dl',
          { class: 'stats' },
          ['partner', 'resource', 'mentor', 'team'].map(function (alias) {
            var pool = data[alias];
            return h(
              'div',
              null,
              h('dt', null, dom.label('MatchKind', alias.toUpperCase())),
              h('dd', { 'data-selected-pool': alias.toUpperCase() }, pool ? pool.name : '还没有池')
            );
          })
        )
      );
    },
    columns: function (ctx, reload) {
      return [
        { title: 'ID', class: 'num', cell: function (p) { return p.id; } },
        { title: '名称', cell: function (p) { return h('span', { title: p.description || '' }, p.name); } },
        { title: '类型', cell: function (p) { return dom.badge('MatchKind', p.kind); } },
        { title: '规则', cell: poolRules },
        { title: '存客宝计划', cell: function (p) { return p.ckbPlan ? p.ckbPlan.name : h('span', { class: 'muted' }, '用途为「匹配记录」的计划'); } },
        { title: '启用', cell: function (p) { return p.enabled ? '是' : h('span', { class: 'muted' }, '否'); } },
        {
          title: '当前使用',
          cell: function (p) {
            if (p.selected) {
              return h('span', { class: 'badge badge-selected', 'data-selected': p.id }, '当前使用');
            }
            return h(
              'button',
              {
                type: 'button',
                'data-select-pool': p.id,
                disabled: !p.enabled,
                title: p.enabled ? '' : '停用的池不能选用',
                onclick: function (event) {
                  event.target.disabled = true;
                  ctx.mutate(queries.selectPartnerPool, { id: p.id }).then(reload, function () {
                    event.target.disabled = false;
                  });
                },
              },
              '设为当前池'
            );
          },
        },
      ];
    },
  });

  // ---- 导师预约 ----

  var mentorBookings = listScreen({
    key: 'bookings',
    title: '导师预约',
    query: queries.mentorBookings,
    order: {
      type: 'MentorBookingOrder',
      default: 'CREATED_AT_DESC',
      labels: { CREATED_AT_DESC: '最新预约在前', SLOT_START_ASC: '时段最早在前', SLOT_START_DESC: '时段最晚在前' },
    },
    filters: [
      { name: 'status', label: '状态', type: 'enum', enumType: 'BookingStatus' },
      { name: 'mentorId', label: '导师 ID', type: 'id' },
      { name: 'memberId', label: '预约人 ID', type: 'id' },
      { name: 'keyword', label: '主题', type: 'text' },
      { name: 'slotStart', label: '时段日期', type: 'range' },
    ],
    columns: function () {
      return [
        { title: 'ID', class: 'num', cell: function (b) { return b.id; } },
        { title: '导师', cell: function (b) { return member(b.mentor); } },
        { title: '预约人', cell: function (b) { return member(b.member); } },
        { title: '主题', cell: function (b) { return b.topic; } },
        { title: '时段', cell: function (b) { return fmt.time(b.slotStart) + ' – ' + fmt.time(b.slotEnd).slice(-8); } },
        { title: '状态', cell: function (b) { return dom.badge('BookingStatus', b.status); } },
        { title: '线索投递', cell: function (b) { return leadDelivery(b.lead); } },
        { title: '好友状态', cell: function (b) { return leadFriend(b.lead); } },
        { title: '预约时间', cell: function (b) { return fmt.time(b.createdAt); } },
      ];
    },
  });

  // ---- 资源对接 ----

  var resourceMatches = listScreen({
    key: 'resources',
    title: '资源对接',
    query: queries.resourceMatches,
    filters: [
      { name: 'direction', label: '方向', type: 'enum', enumType: 'ResourceDirection' },
      { name: 'status', label: '状态', type: 'enum', enumType: 'ResourceStatus' },
      { name: 'memberId', label: '成员 ID', type: 'id' },
      { name: 'keyword', label: '标题或描述', type: 'text' },
      { name: 'createdAt', label: '发布日期', type: 'range' },
    ],
    columns: function () {
      return [
        { title: 'ID', class: 'num', cell: function (r) { return r.id; } },
        { title: '方向', cell: function (r) { return dom.badge('ResourceDirection', r.direction); } },
        { title: '标题', cell: function (r) { return r.title; } },
        { title: '标签', cell: function (r) { return fmt.list(r.tags); } },
        { title: '发布人', cell: function (r) { return member(r.owner); } },
        { title: '对接人', cell: function (r) { return member(r.counterpart); } },
        { title: '状态', cell: function (r) { return dom.badge('ResourceStatus', r.status); } },
        { title: '线索投递', cell: function (r) { return leadDelivery(r.lead); } },
        { title: '好友状态', cell: function (r) { return leadFriend(r.lead); } },
        { title: '发布时间', cell: function (r) { return fmt.time(r.createdAt); } },
      ];
    },
  });

  // ---- 团队招募 ----

  function applicationSummary(recruit) {
    var counts = {};
    recruit.applications.forEach(function (application) {
      counts[application.status] = (counts[application.status] || 0) + 1;
    });
    var parts = Object.keys(counts).map(function (status) {
      return dom.label('ApplicationStatus', status) + ' ' + counts[status];
    });
    return recruit.applications.length + ' 份' + (parts.length ? '（' + parts.join('，') + '）' : '');
  }

  var teamRecruits = listScreen({
    key: 'recruits',
    title: '团队招募',
    query: queries.teamRecruits,
    filters: [
      { name: 'status', label: '状态', type: 'enum', enumType: 'RecruitStatus' },
      { name: 'ownerId', label: '发起人 ID', type: 'id' },
      { name: 'stage', label: '阶段', type: 'text', placeholder: '如 天使轮' },
      { name: 'keyword', label: '项目名或描述', type: 'text' },
      { name: 'createdAt', label: '发布日期', type: 'range' },
    ],
    columns: function () {
      return [
        { title: 'ID', class: 'num', cell: function (r) { return r.id; } },
        { title: '项目', cell: function (r) { return r.projectName; } },
        { title: '阶段', cell: function (r) { return r.stage; } },
        { title: '岗位', cell: function (r) { return r.roles.map(function (role) { return role.title + '×' + role.count; }).join('、'); } },
        { title: '已招 / 招募', class: 'num', cell: function (r) { return r.filledCount + ' / ' + r.headcount; } },
        { title: '状态', cell: function (r) { return dom.badge('RecruitStatus', r.status); } },
        { title: '发起人', cell: function (r) { return member(r.owner); } },
        { title: '申请', cell: applicationSummary },
        { title: '发布时间', cell: function (r) { return fmt.time(r.createdAt); } },
      ];
    },
  });

  // Which screen each overview tab opens.
  var TAB_SCREENS = {
    MATCH_RECORDS: 'matches',
    PARTNER_POOLS: 'pools',
    MENTOR_BOOKINGS: 'bookings',
    RESOURCE_MATCHES: 'resources',
    TEAM_RECRUITS: 'recruits',
    CKB_PLANS: 'plans',
  };

  Admin.screens = [overview, matchRecords, partnerPools, mentorBookings, resourceMatches, teamRecruits];
  Admin.widgets = { windowPicker: windowPicker, leadCountsList: leadCountsList, addRate: addRate, remoteAge: remoteAge, remoteError: remoteError };
})();
