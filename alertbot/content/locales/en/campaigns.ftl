## Seasonal reminder campaigns (English).

campaign-all-districts = all districts
campaign-follow-up-header = 🔁 <b>Reminder:</b> we have not yet received your confirmation. Please complete the check below and tap the button.
campaign-ack-button = ✅ I have completed the check
campaign-acked = ✅ <b>Confirmed</b> at { $time }. Thank you.
campaign-ack-thanks = Thank you, your confirmation is recorded.
campaign-ack-already = Your confirmation was already recorded.
campaign-ack-refused = This confirmation does not belong to you.
campaign-unknown = Unknown campaign: { $campaign }.
campaign-out-of-scope = The campaign { $campaign } covers districts outside your scope.
campaign-error = That did not work.

## /quiet: quiet hours for reminders (everyone).

quiet-current-own = 🌙 <b>Your quiet hours:</b> { $window }
quiet-current-default = 🌙 <b>Your quiet hours:</b> { $window } (the default)
quiet-current-none = 🌙 <b>Your quiet hours:</b> none — reminders may reach you at any time
quiet-current-default-none = 🌙 <b>Your quiet hours:</b> none (the default) — reminders may reach you at any time
quiet-explain = Seasonal safety reminders that fall in your quiet hours wait until they end. Gas warnings always arrive immediately, day and night.
quiet-how =
    To change it:
    <code>/quiet 23:00-07:30</code> — your own quiet hours (24-hour clock, { $zone } time)
    <code>/quiet off</code> — no quiet hours
    <code>/quiet default</code> — back to the default ({ $default })
quiet-none = none
quiet-set = ✅ Your quiet hours are now { $window }. Reminders due then wait until { $end }; warnings still arrive immediately.
quiet-off = ✅ No quiet hours: reminders may reach you at any time. Warnings arrive immediately, as always.
quiet-reset = ✅ Back to the default quiet hours: { $window }. Warnings arrive immediately, as always.
quiet-bad =
    ❓ “{ $text }” is not a time window, so nothing was changed.
    Give the start and the end on the 24-hour clock, for example <code>/quiet 23:00-07:30</code>, or <code>/quiet off</code> or <code>/quiet default</code>.

## /campaigns: the officials' overview.

campaigns-header = 📅 <b>Reminder campaigns</b> · times in { $zone }
campaigns-none = No reminder campaigns are configured.
campaign-block =
    <b>{ $n }. { $title }</b> <code>{ $id }</code> — { $state }
    🗓 { $schedule } · season: { $season }
    👥 { $audience } · { $districts }
    ⏭ Next run: { $next }
    ⏮ Last run: { $last }
    📨 Delivered: { $delivered }{ $ack ->
        [yes] {" "}· confirmed: { $confirmed }
       *[no] {""}
    }{ $scope ->
        [no] {"\u000A"}🔒 Outside your districts: view only.
       *[yes] {""}
    }
campaign-state-active = 🟢 active
campaign-state-paused = ⏸ paused
campaign-state-disabled = ⚪ disabled in the config
campaign-next-none = none scheduled
campaign-last-none = none yet
campaign-last = { $time } ({ $status })
campaign-status-sent = sent
campaign-status-duplicate = already sent
campaign-status-out_of_season = skipped, out of season
campaign-status-paused = skipped, paused
campaign-status-disabled = skipped, disabled
campaign-status-missed = missed while the bot was down
campaign-schedule-daily = every day at { $time }
campaign-schedule-weekly = every { $days } at { $time }
campaign-schedule-monthly = every month on day { $days } at { $time }
campaign-schedule-yearly = every year on { $date } at { $time }
campaign-schedule-cron = cron <code>{ $cron }</code>
campaign-season = { $start } – { $end }
campaign-season-all-year = all year
campaign-date = { $day } { $month }
campaign-weekday-0 = Sunday
campaign-weekday-1 = Monday
campaign-weekday-2 = Tuesday
campaign-weekday-3 = Wednesday
campaign-weekday-4 = Thursday
campaign-weekday-5 = Friday
campaign-weekday-6 = Saturday
campaign-month-1 = January
campaign-month-2 = February
campaign-month-3 = March
campaign-month-4 = April
campaign-month-5 = May
campaign-month-6 = June
campaign-month-7 = July
campaign-month-8 = August
campaign-month-9 = September
campaign-month-10 = October
campaign-month-11 = November
campaign-month-12 = December
campaign-button-pause = { $n } · ⏸ Pause
campaign-button-resume = { $n } · ▶️ Resume
campaign-button-preview = { $n } · 👁 Preview
campaign-button-run = { $n } · 🚀 Run now
campaign-paused = ⏸ Paused: { $title }. Scheduled reminders are skipped until you resume it.
campaign-resumed = ▶️ Resumed: { $title }. It runs on its schedule again.
campaign-preview-header = 👁 <b>Preview: { $title }</b> — exactly what { $language } subscribers would receive now:
campaign-preview-other = ⬇️ <b>What { $language } subscribers would receive:</b>
campaign-preview-ack = Below the reminder they get the button “{ $button }”; confirmations are counted in /stats.
campaign-run-question =
    🚀 Send <b>{ $title }</b> now, outside its schedule?
    👥 { $audience } · { $districts }
    Reminders due in someone's quiet hours wait until they end.
campaign-run-confirm = 🚀 Yes, send “{ $title }” now
campaign-run-cancel = Cancel
campaign-run-cancelled = Cancelled. Nothing was sent.
campaign-run-queued = ✅ { $title }: queued to { $total } recipients.
campaign-run-duplicate = ⚠️ { $title } was already sent at { $time }; it was not sent again.

## /stats: subscribers and confirmations (officials).

stats-subscribers =
    📊 <b>Active subscribers by district</b>
    <pre>{ $table }</pre>
stats-col-district = District
stats-col-residents = Resid.
stats-col-businesses = Biz
stats-col-total = Total
stats-total = Total
stats-acks =
    ✅ <b>{ $title }</b> — confirmations by district
    <pre>{ $table }</pre>
stats-acks-empty = ✅ <b>{ $title }</b>: no reminders delivered yet.
stats-col-received = Recv.
stats-col-confirmed = Conf.
stats-col-rate = %
stats-no-ack-campaigns = No campaign in your districts asks for confirmations.
# The /stats chart (an image: plain text, no markup or emoji).
stats-chart-title = Subscribers and confirmations · { $date }
stats-chart-subscribers = Active subscribers by district
stats-chart-residents = Residents
stats-chart-businesses = Businesses
stats-chart-subscribers-axis = Subscribers
stats-chart-acks = { $title } — confirmed by district
stats-chart-rate-axis = Confirmed (%)
stats-chart-no-deliveries = No reminders delivered yet.
