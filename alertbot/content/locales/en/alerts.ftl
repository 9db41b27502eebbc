## Officials: composing, approving and following up warnings (English).

alert-exercise-banner = 🟨 <b>EXERCISE — THIS IS A DRILL, NOT A REAL WARNING.</b> No action is needed.
alert-severity-extreme = 🔴 <b>EXTREME</b> (red alert)
alert-severity-severe = 🟠 <b>SEVERE</b> (orange alert)
alert-severity-moderate = 🟡 <b>MODERATE</b> (yellow alert)
alert-severity-minor = 🔵 <b>MINOR</b> (blue alert)
alert-mode-live = LIVE
alert-mode-exercise = EXERCISE

alert-not-official = This command is for officials only. Your attempt was recorded.
alert-unknown-template = Unknown template: { $template }.
alert-bad-variable = Please check the field: { $name }.
alert-bad-district = Unknown or missing district: { $districts }.
alert-out-of-scope = Outside your districts: { $districts }.
alert-render-problem = The message cannot be sent as it is: { $problem }
alert-no-recipients = Nobody is subscribed in these districts for this audience: nothing to send.
alert-approval-refused = Refused: { $reason ->
        [missing] there is no such request
        [not-supervisor] only a supervisor may decide
        [own-request] the requester cannot approve their own request
        [out-of-scope] it is outside your districts
        [decided] it was already decided or has expired
       *[other] { $reason }
    }.
alert-not-found = There is no sent broadcast #{ $id }.
alert-error = That did not work.

alert-choose-template = <b>New warning.</b> Choose a template:
alert-follow-up-heading = { $title } — follow-up to #{ $id }
alert-ask-variable =
    <b>{ $title }</b> · { $step } of { $steps }
    ✍️ <b>{ $description }</b>
    Example: <code>{ $example }</code>
    { $optional ->
        [yes] Type it as a message, or tap <b>Skip</b>.
       *[no] Type it as a message.
    }
alert-skip = Skip
alert-variable-not-text = Please send this as a text message.
alert-variable-too-long = That is { $length } characters; at most { $max } fit. Please shorten it and send it again.
alert-choose-districts = Choose the districts to warn (within your scope), then tap <b>Done</b>.
alert-all-districts = All districts
alert-districts-done = ✔️ Done
alert-choose-one-district = Choose at least one district.
alert-choose-audience = Who should receive it?
audience-all = Everyone
audience-residents = Residents
audience-businesses = All businesses
audience-business = Businesses: { $category }
alert-choose-severity = Severity (the template suggests { $default }):
alert-suggested = { $label } · suggested
alert-no-severity = none
severity-extreme = 🔴 Extreme
severity-severe = 🟠 Severe
severity-moderate = 🟡 Moderate
severity-minor = 🔵 Minor
alert-choose-mode = Send for real, or as an exercise (officials and test chats only)?
alert-mode-live-button = 🔴 Live
alert-mode-exercise-button = 🟨 Exercise
alert-preview-header =
    <b>Preview — { $mode }</b>
    Template: { $title } · severity: { $severity } · audience: { $audience }
    Districts: { $districts }
    Recipients: { $total } ({ $zh } in Chinese, { $en } in English){ $notes }
alert-preview-approval = ⚠️ Needs a supervisor's approval before it is sent.
alert-preview-exercise = 🟨 Exercise: only officials and test chats receive it.
alert-preview-follow-up = ↩️ Follow-up to #{ $id }: it goes to the chats that received the original.
alert-preview-channel = 📢 Channel { $channel } ({ $language }): { $members } members, posted first{ $problem }
alert-preview-channel-problem = {" "}— ⚠️ the bot cannot post there: { $problem }
alert-preview-group = { $language }: channels { $members } · direct { $direct } · last in about { $eta }
alert-preview-eta = ⏱ All { $direct } direct messages out in about { $eta } ({ $rate } msg/s{ $ahead })
alert-preview-eta-ahead = , after { $ahead } messages already queued ahead
alert-preview-paid = 💫 Paid speed (allow_paid_broadcast): about { $charged } messages above the free limit ≈ { $stars } Telegram Stars
duration-seconds = { $seconds } s
duration-minutes = { $minutes } min { $seconds } s
alert-preview-language = ⬇️ <b>Exactly what { $language } subscribers receive:</b>
alert-language-zh = Chinese
alert-language-en = English
alert-confirm-question = Check both texts above. Send it?
alert-confirm-live = 🔴 SEND LIVE to { $total }
alert-confirm-exercise = 🟨 Send EXERCISE to { $total }
alert-confirm-request = 🛂 Request approval ({ $mode }, { $total })
alert-cancel = Cancel
alert-cancelled = Cancelled. Nothing was sent.
alert-queued = ✅ #{ $id } is being sent to { $total } recipients ({ $mode }). Progress follows.
alert-waiting-approval = 🛂 #{ $id } waits for a supervisor's approval (expires in { $minutes } min).
alert-duplicate = ⚠️ The same warning (#{ $id }) was confirmed { $minutes } min ago. Send it again?
alert-confirm-failed = ⚠️ The warning could not be confirmed because of an unexpected error (it has been logged). Your draft is kept: tap the button above to try again. Had it been queued after all, you will be asked before it is sent twice.
alert-send-again = Send again
alert-flow-expired = This step has expired. Start again with /alert.
alert-use-buttons = Please use the buttons above. /alert starts again; any other command leaves.

alert-approval-request =
    🛂 <b>Approval needed</b> for #{ $id } from { $requester }: { $title }
    Districts: { $districts }. Expires in { $minutes } min.
alert-approve = ✅ Approve
alert-reject = ❌ Reject
alert-approved = ✅ #{ $id } approved by { $approver }; sending to { $total } recipients.
alert-rejected = ❌ #{ $id } rejected by { $approver }. Nothing was sent.
alert-approval-expired = ⌛ #{ $id } was not approved in time and has expired. Nothing was sent.
alert-no-supervisor = ⚠️ No supervisor can approve #{ $id } (none in scope). It will expire unsent.
alert-approval-unreachable = ⚠️ The approval request for #{ $id } has not reached any supervisor yet ({ $supervisors }): Telegram refused it. The bot keeps trying until the request expires in { $minutes } min; please contact a supervisor directly.
alert-approval-text-follows = ⬇️ The exact text subscribers will receive follows in the next message.

alert-progress =
    📤 #{ $id } { $title } ({ $mode })
    Sent { $sent } of { $total } · pending { $pending } · blocked { $blocked } · failed { $failed }
    { $rate } msg/s · about { $eta } s left
alert-report =
    ✅ #{ $id } { $title } ({ $mode }) finished in { $seconds ->
        [one] 1 second
       *[other] { $seconds } seconds
    }.
    Sent { $sent } of { $total } · blocked { $blocked } · failed { $failed } · cancelled { $cancelled }
alert-report-times = First delivery after { $first } · last after { $last }
alert-report-channel = 📢 { $channel }: posted at { $time } ({ $members } members)
alert-report-channel-failed = 📢 { $channel }: not posted ({ $error })
alert-report-channel-pending = 📢 { $channel }: not posted yet
alert-follow-up-update = ✏️ Update
alert-follow-up-all_clear = 🟢 All clear
alert-follow-up-sent_in_error = ⛔ Sent in error

alert-scheduled = ⏰ #{ $id } { $title } ({ $mode }) is scheduled for { $time } to { $total } recipients. It can be cancelled until then.
alert-cancel-scheduled = ✖️ Cancel this scheduled warning
alert-bad-send-at = { $problem ->
        [past] The sending time must be at least a minute from now.
        [far] The sending time must be within 30 days.
        [follow-up] Follow-ups go out at once (or once approved, where that is needed); they cannot be scheduled.
       *[other] Please give a time like 18:30, 12-01 08:00 or 2026-12-01 08:00.
    }

alert-send-at = ⏰ Send at…
alert-ask-send-at =
    ⏰ <b>When should it be sent?</b> Type the time in { $zone } (it is now { $now }):
    <code>18:30</code> — today, or tomorrow if that time has passed
    <code>12-01 08:00</code> — month-day and time, this year
    <code>2026-12-01 08:00</code> — a full date
    At least a minute and at most 30 days from now. Or tap <b>Cancel</b>.
alert-send-at-again = Type another time, or tap <b>Cancel</b>.
alert-confirm-send-at = ⏰ It will be sent at <b>{ $time }</b> ({ $zone }), exactly as previewed above. Confirm?
alert-confirm-live-at = 🔴 SEND LIVE to { $total } at { $time }
alert-confirm-exercise-at = 🟨 Send EXERCISE to { $total } at { $time }
alert-confirm-request-at = 🛂 Request approval ({ $mode }, { $total }, at { $time })
alert-scheduled-confirmed = ⏰ #{ $id } is scheduled for { $time } to { $total } recipients ({ $mode }). Nothing goes out before then; the notice below can cancel it.
alert-scheduled-cancelled = ✖️ #{ $id } was cancelled: { $stopped ->
        [one] 1 message
       *[other] { $stopped } messages
    } will not be sent.
alert-nothing-to-cancel = Nothing is left to cancel: #{ $id } has already gone out or was cancelled.

# A warning drafted from a CAP message posted to the HTTP API (a key with --cap-import draft)
cap-draft-offered = 📥 <b>An imported CAP message</b> ({ $origin }) is ready as a draft. Check it below and confirm to send it, or cancel.
cap-import-refused = The CAP message cannot be used: { $element }: { $problem }
api-key-refused = The API key request was refused: { $name }
