## 居民端界面文字（中文）。插入的值由机器人先做 HTML 转义。

welcome =
    👋 <b>alertbot</b> 将市应急管理部门发布的燃气安全预警和季节性安全提醒推送到您所在的区县。

    您是以居民身份还是以企业/商户身份订阅？
welcome-back = 欢迎回来！您已订阅。
kind-resident = 🏠 居民
kind-business = 🏪 企业/商户
choose-category = 请选择企业类型：
category-restaurant = 餐饮
category-lpg_retailer = 液化石油气经营
category-hazardous_chemicals = 危险化学品
category-mining = 矿山
category-property_management = 物业管理
category-other = 其他
ask-business-name = 请输入企业/商户名称（不超过 { $max } 个字）。
business-name-invalid = 名称长度须为 1 至 { $max } 个字，请重新输入。
business-name-not-text = 请以文字消息发送企业/商户名称。
choose-districts = 请选择一个或多个区县，然后点击<b>完成</b>。再次点击可取消选择。
picker-done = ✔️ 完成
onboarding-done =
    ✅ 您将收到以下区县的预警和提醒：{ $districts }。

    /mysubs 查看订阅，/help 查看全部功能。
onboarding-no-district = 请至少选择一个区县。

subscribed = ✅ 已订阅：{ $districts }。
already-subscribed = 您此前已订阅：{ $districts }。
unknown-district =
    ❓ 未找到区县“{ $unknown }”，订阅未作任何更改。
    可选区县：{ $valid }
unsubscribed = 已取消订阅：{ $districts }。
unsubscribed-all = 您已取消全部区县的订阅。发送 /subscribe 可重新订阅。
not-subscribed-to = 您并未订阅：{ $districts }。
no-subscriptions = 您还没有订阅任何区县。发送 /subscribe 添加。
choose-unsubscribe = 点击区县即可取消订阅。
unsubscribe-all-button = ❌ 全部取消
picker-district-unknown = 该区县已不存在。

mysubs =
    <b>您的订阅</b>
    区县：{ $districts }
    身份：{ $kind }
    语言：{ $language }

    /subscribe 和 /unsubscribe 调整区县，/language 切换语言，/forgetme 删除全部数据。
mysubs-none = （无）
mysubs-resident = 居民
mysubs-business = 企业/商户 — { $category }：{ $name }

language-choose = 请选择语言：
language-set = 机器人今后将使用中文与您交流。
language-unknown = 不支持的语言 { $code }。请发送 /language zh 或 /language en。
language-name-zh = 中文
language-name-en = English

forgetme-confirm = 此操作将删除 alertbot 保存的关于本聊天的全部信息：订阅区县、身份资料和语言设置。删除后您将不再收到任何预警。确定继续吗？
forgetme-yes = 🗑 确定，全部删除
forgetme-no = 取消
forgetme-done = 🗑 已删除。alertbot 不再保存关于本聊天的任何信息。发送 /start 可重新订阅。
forgetme-cancelled = 未删除任何内容。

help =
    <b>alertbot</b> 为您选择的区县推送燃气安全预警和提醒。

    /start — 订阅（居民或企业/商户）
    /subscribe [区县 …] — 添加区县，例如 <code>/subscribe 和平区 tiexi</code>
    /unsubscribe [区县|all] — 取消区县
    /mysubs — 查看订阅区县、身份和语言
    /language [zh|en] — 切换语言
    /quiet [23:00-07:00|off|default] — 设置免打扰时段（预警不受影响）
    /forgetme — 删除您的全部数据
    /help — 本帮助

    紧急情况请拨打 119；闻到燃气味请先撤离到室外，再拨打燃气公司抢修电话。
help-official =
    <b>工作人员功能</b>（{ $role }，辖区：{ $scope }）
    /alert — 使用模板编写预警；发送进度、报告和后续操作将在此显示
    /campaigns — 季节性安全提醒：下次发送、统计、暂停、预览、立即发送
    /stats — 各区县订阅人数和自查确认率
help-role-officer = 值班员
help-role-supervisor = 审核负责人
help-scope-all = 全部
unknown-command = 无法识别该命令。发送 /help 查看可用功能。
private-only = 请在与机器人的私聊中管理订阅。
too-fast = 操作过于频繁，请稍候。
something-wrong = 抱歉，出现错误，请重试。

cmd-start = 订阅所在区县的预警
cmd-subscribe = 添加区县
cmd-unsubscribe = 取消区县
cmd-mysubs = 查看我的订阅
cmd-language = 切换语言（zh/en）
cmd-forgetme = 删除我的全部数据
cmd-help = 帮助
button-expired = 该按钮已失效，请重新开始。
cmd-alert = 编写预警（工作人员）
cmd-quiet = 提醒免打扰时段
cmd-campaigns = 安全提醒活动（工作人员）
cmd-stats = 订阅与确认统计（工作人员）
