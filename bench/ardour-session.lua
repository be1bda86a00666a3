-- Headless Ardour session for bench/ardour-bounce.sh and bench/ardour-tracks.sh, run by
-- ardour7-lua in two steps. Ardour 7's Lua API cannot import audio files, so the scripts place
-- each track's region in the session file between the steps.
--   STEP=create: a new session with a stereo track per name in TRACKS whose panner is bypassed
--                (the master bus then gets the tracks' samples untouched) and a range marker over
--                the song; the script turns the marker into the session range.
--   STEP=finish: checks that each track's region loaded, connects the tracks to the master bus,
--                inserts the Spectral Diffusion VST3 at the top of each track, turns its "Record
--                Armed" parameter on and saves.
-- Environment: SESSION_DIR, SESSION_NAME, SAMPLE_RATE, NUM_SAMPLES, TRACKS (comma-separated).

local function fail(message)
	print("error: " .. message)
	os.exit(1)
end

local step = os.getenv("STEP")
local dir, name = os.getenv("SESSION_DIR"), os.getenv("SESSION_NAME")
local num_samples = tonumber(os.getenv("NUM_SAMPLES"))
local track_names = {}
for track_name in string.gmatch(os.getenv("TRACKS") or "", "[^,]+") do
	table.insert(track_names, track_name)
end
if #track_names == 0 then fail("TRACKS names no track") end

AudioEngine:set_backend("None (Dummy)", "", "")

if step == "create" then
	local session = create_session(dir, name, tonumber(os.getenv("SAMPLE_RATE")))
	if not session then fail("cannot create the session in " .. dir) end
	for _, track_name in ipairs(track_names) do
		local tracks = session:new_audio_track(2, 2, nil, 1, track_name,
			ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
		if tracks:size() ~= 1 then fail("cannot add the audio track " .. track_name) end
		tracks:front():panner_shell():set_bypassed(true)
	end
	session:locations():add_range(Temporal.timepos_t(0), Temporal.timepos_t(num_samples))
	session:save_state("", false, false, false, false, false)
	close_session()
elseif step == "finish" then
	local session = load_session(dir, name)
	if not session then fail("cannot load the session in " .. dir) end
	for _, track_name in ipairs(track_names) do
		local track = session:route_by_name(track_name)
		local regions = track:to_track():playlist():region_list():table()
		if #regions ~= 1 then
			fail(track_name .. " has " .. #regions .. " regions, expected 1")
		end
		local region = regions[1]
		if region:position():samples() ~= 0 or region:length():samples() ~= num_samples then
			fail(string.format("%s's region is at %d, %d samples long; expected 0, %d", track_name,
				region:position():samples(), region:length():samples(), num_samples))
		end

		-- Ardour connects new tracks to the master bus in a background thread, which may not
		-- have run before the create step saved: connect them here, or the export is silent.
		local master = session:master_out()
		for channel = 0, 1 do
			local port = track:output():audio(channel)
			local master_in = master:input():audio(channel):name()
			if not port:connected_to(master_in) then port:connect(master_in) end
			if not port:connected_to(master_in) then
				fail("cannot connect " .. track_name .. " to the master bus")
			end
		end

		local proc = ARDOUR.LuaAPI.new_plugin(session, "Spectral Diffusion", ARDOUR.PluginType.VST3, "")
		if proc:isnil() then
			fail("Ardour does not know the Spectral Diffusion VST3: not in ~/.vst3, or not scanned")
		end
		if not track:add_processor_by_index(proc, 0, nil, true) then fail("cannot insert the plugin") end
		local plugin = proc:to_insert():plugin(0)
		local armed
		for i = 0, plugin:parameter_count() - 1 do
			if plugin:parameter_label(i) == "Record Armed" then armed = i end
		end
		if not armed then fail("the plugin has no \"Record Armed\" parameter") end
		if not ARDOUR.LuaAPI.set_processor_param(proc, armed, 1) then fail("cannot arm the plugin") end
	end
	-- The saved state is the plugin's own (its VST3 chunk): let it see the change before saving.
	if not ARDOUR.LuaAPI.wait_for_process_callback(4, 5000) then fail("the engine does not run") end
	session:save_state("", false, false, false, false, false)
	close_session()
else
	fail("STEP must be create or finish")
end
