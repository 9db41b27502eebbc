## 工作人员：编写、审批和跟进预警（中文）。

alert-exercise-banner = 🟨 <b>【演练】本条为演练信息，不是真实预警。</b>无需采取任何行动。
alert-severity-extreme = 🔴 <b>红色预警（特别严重）</b>
alert-severity-severe = 🟠 <b>橙色预警（严重）</b>
alert-severity-moderate = 🟡 <b>黄色预警（较重）</b>
alert-severity-minor = 🔵 <b>蓝色预警（一般）</b>
alert-mode-live = 正式
alert-mode-exercise = 演练

alert-not-official = 该命令仅限工作人员使用。本次操作已记录。
alert-unknown-template = 未知模板：{ $template }。
alert-bad-variable = 请检查该项：{ $name }。
alert-bad-district = 区县有误或未选择：{ $districts }。
alert-out-of-scope = 超出您的辖区：{ $districts }。
alert-render-problem = 该消息无法按现有内容发送：{ $problem }
alert-no-recipients = 所选区县和对象中没有订阅者，无需发送。
alert-approval-refused = 操作被拒绝：{ $reason ->
        [missing] 不存在该请求
        [not-supervisor] 只有审核负责人可以审批
        [own-request] 申请人不能审批自己的请求
        [out-of-scope] 超出您的辖区
        [decided] 该请求已被处理或已失效
       *[other] { $reason }
    }。
alert-not-found = 不存在已发送的 #{ $id }。
alert-error = 操作未成功。

alert-choose-template = <b>新建预警。</b>请选择模板：
alert-follow-up-heading = { $title }（跟进 #{ $id }）
alert-ask-variable =
    <b>{ $title }</b> · 第 { $step } 项，共 { $steps } 项
    ✍️ <b>{ $description }</b>
    示例：<code>{ $example }</code>
    { $optional ->
        [yes] 请直接发送文字，或点击<b>跳过</b>。
       *[no] 请直接发送文字。
    }
alert-skip = 跳过
alert-variable-not-text = 请以文字消息发送。
alert-variable-too-long = 内容共 { $length } 个字符，最多 { $max } 个。请精简后重新发送。
alert-choose-districts = 请选择要发布预警的区县（限您的辖区），然后点击<b>完成</b>。
alert-all-districts = 全部区县
alert-districts-done = ✔️ 完成
alert-choose-one-district = 请至少选择一个区县。
alert-choose-audience = 请选择发送对象：
audience-all = 所有人
audience-residents = 居民
audience-businesses = 全部企业/商户
audience-business = 企业/商户：{ $category }
alert-choose-severity = 请选择预警级别（模板建议：{ $default }）：
alert-suggested = { $label } · 建议
alert-no-severity = 无
severity-extreme = 🔴 红色（特别严重）
severity-severe = 🟠 橙色（严重）
severity-moderate = 🟡 黄色（较重）
severity-minor = 🔵 蓝色（一般）
alert-choose-mode = 正式发送，还是作为演练（仅发给工作人员和测试群）？
alert-mode-live-button = 🔴 正式
alert-mode-exercise-button = 🟨 演练
alert-preview-header =
    <b>预览 — { $mode }</b>
    模板：{ $title } · 级别：{ $severity } · 对象：{ $audience }
    区县：{ $districts }
    接收人数：{ $total }（中文 { $zh }，英文 { $en }）{ $notes }
alert-preview-approval = ⚠️ 须经审核负责人批准后才会发送。
alert-preview-exercise = 🟨 演练：仅发给工作人员和测试群。
alert-preview-follow-up = ↩️ 跟进 #{ $id }：发给已收到原预警的用户。
alert-preview-channel = 📢 频道 { $channel }（{ $language }）：{ $members } 名成员，最先发布{ $problem }
alert-preview-channel-problem = {" "}— ⚠️ 机器人无法在此发布：{ $problem }
alert-preview-group = { $language }：频道 { $members } 人 · 私信 { $direct } 人 · 最后一条约 { $eta } 后
alert-preview-eta = ⏱ 全部 { $direct } 条私信约 { $eta } 后发完（每秒 { $rate } 条{ $ahead }）
alert-preview-eta-ahead = ，排在已排队的 { $ahead } 条之后
alert-preview-paid = 💫 付费提速（allow_paid_broadcast）：约 { $charged } 条超出免费限额 ≈ { $stars } Telegram Stars
duration-seconds = { $seconds } 秒
duration-minutes = { $minutes } 分 { $seconds } 秒
alert-preview-language = ⬇️ <b>{ $language }订阅者将收到的完整内容：</b>
alert-language-zh = 中文
alert-language-en = 英文
alert-confirm-question = 请核对上方两种语言的内容。确认发送吗？
alert-confirm-live = 🔴 正式发送给 { $total } 人
alert-confirm-exercise = 🟨 演练发送给 { $total } 人
alert-confirm-request = 🛂 提交审批（{ $mode }，{ $total } 人）
alert-cancel = 取消
alert-cancelled = 已取消，未发送任何内容。
alert-queued = ✅ #{ $id } 正在发送给 { $total } 人（{ $mode }），进度随后显示。
alert-waiting-approval = 🛂 #{ $id } 等待审核负责人批准（{ $minutes } 分钟后失效）。
alert-duplicate = ⚠️ 相同的预警（#{ $id }）在 { $minutes } 分钟前已确认发送。是否再次发送？
alert-confirm-failed = ⚠️ 发生意外错误，预警未能确认（已记录日志）。草稿已保留：请再次点击上方按钮重试。如果它其实已进入发送队列，系统会在重复发送前询问您。
alert-send-again = 再次发送
alert-flow-expired = 该步骤已失效，请发送 /alert 重新开始。
alert-use-buttons = 请点击上方按钮操作。发送 /alert 可重新开始，发送其他命令即退出本流程。

alert-approval-request =
    🛂 <b>待审批</b> #{ $id }，申请人 { $requester }：{ $title }
    区县：{ $districts }。{ $minutes } 分钟后失效。
alert-approve = ✅ 批准
alert-reject = ❌ 驳回
alert-approved = ✅ #{ $id } 已由 { $approver } 批准，正在发送给 { $total } 人。
alert-rejected = ❌ #{ $id } 已被 { $approver } 驳回，未发送。
alert-approval-expired = ⌛ #{ $id } 未在时限内获批，已失效，未发送。
alert-no-supervisor = ⚠️ 没有可审批 #{ $id } 的审核负责人（辖区不符），该请求将失效且不会发送。
alert-approval-unreachable = ⚠️ #{ $id } 的审批请求尚未送达任何审核负责人（{ $supervisors }）：Telegram 拒绝了发送。系统会继续尝试，直至 { $minutes } 分钟后失效；请直接联系审核负责人。
alert-approval-text-follows = ⬇️ 订阅者将收到的完整内容见下一条消息。

alert-progress =
    📤 #{ $id } { $title }（{ $mode }）
    已发送 { $sent } / { $total } · 待发送 { $pending } · 已屏蔽 { $blocked } · 失败 { $failed }
    { $rate } 条/秒 · 约剩 { $eta } 秒
alert-report =
    ✅ #{ $id } { $title }（{ $mode }）发送完毕，用时 { $seconds } 秒。
    已发送 { $sent } / { $total } · 已屏蔽 { $blocked } · 失败 { $failed } · 已取消 { $cancelled }
alert-report-times = 首条送达用时 { $first } · 最后一条用时 { $last }
alert-report-channel = 📢 { $channel }：{ $time } 已发布（{ $members } 名成员）
alert-report-channel-failed = 📢 { $channel }：未能发布（{ $error }）
alert-report-channel-pending = 📢 { $channel }：尚未发布
alert-follow-up-update = ✏️ 更新
alert-follow-up-all_clear = 🟢 解除
alert-follow-up-sent_in_error = ⛔ 误发更正

alert-scheduled = ⏰ #{ $id } { $title }（{ $mode }）已定于 { $time } 发送给 { $total } 人，在此之前可以取消。
alert-cancel-scheduled = ✖️ 取消该定时预警
alert-bad-send-at = { $problem ->
        [past] 发送时间须至少在一分钟之后。
        [far] 发送时间须在 30 天以内。
        [follow-up] 后续消息会立即发送（需要批准的，在批准后发送），不能定时。
       *[other] 请输入时间，例如 18:30、12-01 08:00 或 2026-12-01 08:00。
    }

alert-send-at = ⏰ 定时发送…
alert-ask-send-at =
    ⏰ <b>何时发送？</b>请按 { $zone } 时间输入（现在是 { $now }）：
    <code>18:30</code> — 今天（如该时间已过则为明天）
    <code>12-01 08:00</code> — 今年的月-日和时间
    <code>2026-12-01 08:00</code> — 完整日期
    须在一分钟之后、30 天以内。也可以点击<b>取消</b>。
alert-send-at-again = 请重新输入时间，或点击<b>取消</b>。
alert-confirm-send-at = ⏰ 将于 <b>{ $time }</b>（{ $zone }）按上方预览内容发送。确认吗？
alert-confirm-live-at = 🔴 { $time } 正式发送给 { $total } 人
alert-confirm-exercise-at = 🟨 { $time } 演练发送给 { $total } 人
alert-confirm-request-at = 🛂 提交审批（{ $mode }，{ $total } 人，{ $time } 发送）
alert-scheduled-confirmed = ⏰ #{ $id } 已定于 { $time } 发送给 { $total } 人（{ $mode }），在此之前不会发出；可通过下方通知取消。
alert-scheduled-cancelled = ✖️ #{ $id } 已取消，{ $stopped } 条消息不会发送。
alert-nothing-to-cancel = 没有可取消的内容：#{ $id } 已发出或已被取消。

# A warning drafted from a CAP message posted to the HTTP API (a key with --cap-import draft)
cap-draft-offered = 📥 <b>收到一条 CAP 预警消息</b>（{ $origin }），已生成草稿。请核对以下内容，确认后发送，或取消。
cap-import-refused = 无法使用该 CAP 消息：{ $element }：{ $problem }
api-key-refused = API 密钥请求被拒绝：{ $name }
