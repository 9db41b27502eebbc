## 季节性安全提醒活动（中文）。

campaign-all-districts = 全市各区县
campaign-follow-up-header = 🔁 <b>再次提醒：</b>我们尚未收到您的确认。请按以下内容完成自查后点击下方按钮。
campaign-ack-button = ✅ 我已完成自查
campaign-acked = ✅ <b>已确认完成自查</b>（{ $time }），谢谢配合。
campaign-ack-thanks = 谢谢，您的确认已记录。
campaign-ack-already = 您的确认此前已记录。
campaign-ack-refused = 该确认不属于您。
campaign-unknown = 未知的提醒活动：{ $campaign }。
campaign-out-of-scope = 提醒活动 { $campaign } 涉及您辖区以外的区县。
campaign-error = 操作未成功。

## /quiet：提醒的免打扰时段（所有人）。

quiet-current-own = 🌙 <b>您的免打扰时段：</b>{ $window }
quiet-current-default = 🌙 <b>您的免打扰时段：</b>{ $window }（默认设置）
quiet-current-none = 🌙 <b>您的免打扰时段：</b>无，提醒可随时送达
quiet-current-default-none = 🌙 <b>您的免打扰时段：</b>无（默认设置），提醒可随时送达
quiet-explain = 落在免打扰时段内的季节性安全提醒，会等到时段结束后再发送。燃气预警不受影响，无论白天黑夜都会立即送达。
quiet-how =
    修改方法：
    <code>/quiet 23:00-07:30</code> — 设置您自己的时段（24 小时制，时区 { $zone }）
    <code>/quiet off</code> — 关闭免打扰
    <code>/quiet default</code> — 恢复默认设置（{ $default }）
quiet-none = 无
quiet-set = ✅ 免打扰时段已设为 { $window }。此时段内的提醒将在 { $end } 后发送；预警仍会立即送达。
quiet-off = ✅ 已关闭免打扰，提醒可随时送达。预警一如既往立即送达。
quiet-reset = ✅ 已恢复默认免打扰时段：{ $window }。预警一如既往立即送达。
quiet-bad =
    ❓ “{ $text }”不是有效的时段，设置未作任何更改。
    请用 24 小时制写出开始和结束时间，例如 <code>/quiet 23:00-07:30</code>；也可以发送 <code>/quiet off</code> 或 <code>/quiet default</code>。

## /campaigns：工作人员查看和管理提醒活动。

campaigns-header = 📅 <b>安全提醒活动</b> · 时间均为 { $zone } 时区
campaigns-none = 尚未配置任何提醒活动。
campaign-block =
    <b>{ $n }. { $title }</b> <code>{ $id }</code> — { $state }
    🗓 { $schedule } · 活动季节：{ $season }
    👥 { $audience } · { $districts }
    ⏭ 下次发送：{ $next }
    ⏮ 上次发送：{ $last }
    📨 已送达：{ $delivered }{ $ack ->
        [yes] {" "}· 已确认：{ $confirmed }
       *[no] {""}
    }{ $scope ->
        [no] {"\u000A"}🔒 涉及您辖区以外的区县，仅可查看。
       *[yes] {""}
    }
campaign-state-active = 🟢 运行中
campaign-state-paused = ⏸ 已暂停
campaign-state-disabled = ⚪ 已在配置中停用
campaign-next-none = 暂无安排
campaign-last-none = 尚未发送
campaign-last = { $time }（{ $status }）
campaign-status-sent = 已发送
campaign-status-duplicate = 此前已发送
campaign-status-out_of_season = 不在活动季节，已跳过
campaign-status-paused = 暂停中，已跳过
campaign-status-disabled = 已停用，已跳过
campaign-status-missed = 机器人未运行，已错过
campaign-schedule-daily = 每天 { $time }
campaign-schedule-weekly = 每{ $days } { $time }
campaign-schedule-monthly = 每月 { $days } 日 { $time }
campaign-schedule-yearly = 每年 { $date } { $time }
campaign-schedule-cron = cron 表达式 <code>{ $cron }</code>
campaign-season = { $start }至{ $end }
campaign-season-all-year = 全年
campaign-date = { $month }{ $day }日
campaign-weekday-0 = 周日
campaign-weekday-1 = 周一
campaign-weekday-2 = 周二
campaign-weekday-3 = 周三
campaign-weekday-4 = 周四
campaign-weekday-5 = 周五
campaign-weekday-6 = 周六
campaign-month-1 = 1月
campaign-month-2 = 2月
campaign-month-3 = 3月
campaign-month-4 = 4月
campaign-month-5 = 5月
campaign-month-6 = 6月
campaign-month-7 = 7月
campaign-month-8 = 8月
campaign-month-9 = 9月
campaign-month-10 = 10月
campaign-month-11 = 11月
campaign-month-12 = 12月
campaign-button-pause = { $n } · ⏸ 暂停
campaign-button-resume = { $n } · ▶️ 恢复
campaign-button-preview = { $n } · 👁 预览
campaign-button-run = { $n } · 🚀 立即发送
campaign-paused = ⏸ 已暂停“{ $title }”。恢复之前，按计划发送的提醒都将跳过。
campaign-resumed = ▶️ 已恢复“{ $title }”。将继续按计划发送。
campaign-preview-header = 👁 <b>预览：{ $title }</b> — { $language }订阅者此时将收到的内容如下：
campaign-preview-other = ⬇️ <b>{ $language }订阅者将收到：</b>
campaign-preview-ack = 提醒下方附有“{ $button }”按钮，确认情况可通过 /stats 查看。
campaign-run-question =
    🚀 现在就发送<b>{ $title }</b>吗？（不按计划时间）
    👥 { $audience } · { $districts }
    处于免打扰时段的订阅者将在时段结束后收到。
campaign-run-confirm = 🚀 确认立即发送“{ $title }”
campaign-run-cancel = 取消
campaign-run-cancelled = 已取消，未发送任何消息。
campaign-run-queued = ✅ “{ $title }”已排队发送给 { $total } 位订阅者。
campaign-run-duplicate = ⚠️ “{ $title }”已于 { $time } 发送过，本次未重复发送。

## /stats：订阅与确认统计（工作人员）。

stats-subscribers =
    📊 <b>各区县有效订阅人数</b>
    <pre>{ $table }</pre>
stats-col-district = 区县
stats-col-residents = 居民
stats-col-businesses = 企业
stats-col-total = 合计
stats-total = 合计
stats-acks =
    ✅ <b>{ $title }</b> — 各区县自查确认情况
    <pre>{ $table }</pre>
stats-acks-empty = ✅ <b>{ $title }</b>：尚未送达任何提醒。
stats-col-received = 收到
stats-col-confirmed = 已确认
stats-col-rate = %
stats-no-ack-campaigns = 您辖区内目前没有需要确认的提醒活动。
# /stats 图表（图片：纯文本，不含标记或表情符号）。
stats-chart-title = 订阅与确认统计 · { $date }
stats-chart-subscribers = 各区县有效订阅人数
stats-chart-residents = 居民
stats-chart-businesses = 企业
stats-chart-subscribers-axis = 订阅人数
stats-chart-acks = { $title } — 各区县确认率
stats-chart-rate-axis = 已确认（%）
stats-chart-no-deliveries = 尚未送达任何提醒。
