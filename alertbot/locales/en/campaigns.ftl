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
