/*
 * The token on the nRF51822: binds token.wasm's `hal` imports (assembly/hal.ts) to the peripherals,
 * delivers the firmware's events (its requested wake-ups, button A, link commands) and carries the
 * link over the UART in the frames of host/mcu/protocol.ts. The generated module (build/mcu/token.c)
 * is used as a library and never edited.
 *
 * Interrupts stay masked (PRIMASK) for the whole run: peripherals only wake the core from its sleep
 * (WFE on the silicon image, WFI on the emulator's), and the loop below looks at their event
 * registers. One loop, no handlers, no races.
 *
 * The panel is drawn after each firmware call, and also, within a call, just before its first flash
 * erase or write: so the once-an-hour press shows its code before the NVMC stalls the CPU for the
 * record (the firmware draws the code before it records the time: assembly/device/device.ts show()).
 */
#include <string.h>

#include "mcu.h"
#include "nrf51.h"
#include "token.h"

/* The firmware's own page geometry must be the chip's: its pages are erased by the NVMC. */
_Static_assert(FLASH_PAGE_BYTES == NRF51_FLASH_PAGE_BYTES, "token flash pages must be nRF51 flash pages");

mcu_retained_t mcu_retained __attribute__((section(".noinit")));
uint32_t mcu_battery_millivolts = BOARD_BATTERY_MILLIVOLTS;

static Z_token_instance_t token;
static int64_t wake;            /* the firmware's requested wake-up (RTC seconds; 0: none) */
static uint64_t button_down_at; /* clock ticks when button A went down; UINT64_MAX: up */
static bool hold_fired;
static bool panel_current; /* the panel shows the framebuffer as the running call last drew it */

#define LONG_PRESS_TICKS ((uint64_t)LONG_PRESS_SECONDS * CLOCK_HZ)

/* ---- The meter (harness images): what each firmware entry point cost. ---- */

#ifdef MCU_HARNESS
meter_reading_t meter_last, meter_boot;
static meter_reading_t meter_now;

static uint32_t lines_before;

static void meter_begin(void) {
  memset(&meter_now, 0, sizeof meter_now);
  panel_current = false;
  lines_before = sharp_lcd_lines_written();
  nrf_timer_meter_start();
}

static void meter_end(uint32_t kind) {
  meter_now.ticks = nrf_timer_meter_stop();
  meter_now.kind = kind;
  meter_now.panel_lines = sharp_lcd_lines_written() - lines_before;
  meter_last = meter_now;
  if (kind == CALL_BOOT) meter_boot = meter_now;
}
#define METER_COUNT(field, n) (meter_now.field += (n))
#define METER_DRAWN() (meter_now.drawn_ticks = meter_now.drawn_ticks ? meter_now.drawn_ticks : nrf_timer_meter_read())
#else
#define meter_begin() (panel_current = false)
#define METER_DRAWN() ((void)0)
#define meter_end(kind) ((void)(kind))
#define METER_COUNT(field, n) ((void)0)
#endif

/* ---- The fault path. ---- */

void mcu_fault(uint32_t cause, uint32_t detail) {
  clock_retain();
  mcu_retained.cause = cause;
  mcu_retained.detail = detail;
  mcu_retained.battery_millivolts = mcu_battery_millivolts;
  mcu_retained.magic = MCU_RETAINED_MAGIC;
  __asm volatile("dsb" ::: "memory");
  NRF_REG(SCB_AIRCR) = SCB_AIRCR_SYSRESETREQ;
  for (;;) {
  }
}

void mcu_sleep(void) {
#ifdef MCU_HARNESS
  nrf_timer_meter_pause();
#endif
#ifdef MCU_SILICON
  /* SEVONPEND: an interrupt line going pending sets the event register, so one that fired since the
   * last wake (its pending bit cleared below) makes this WFE return at once. */
  __asm volatile("wfe" ::: "memory");
#else
  __asm volatile("wfi" ::: "memory");
#endif
  /* Interrupts are masked: nothing takes the pending bits, so clear them for the next sleep. */
  NRF_REG(NVIC_ICPR) = 0xffffffffu;
#ifdef MCU_HARNESS
  nrf_timer_meter_resume();
#endif
}

void mcu_delay_us(uint32_t microseconds) {
#ifdef MCU_SILICON
  /* Four cycles an iteration (SUBS, BNE taken: ARM DDI 0432C Table 3-1) at 16 MHz. */
  for (uint32_t n = microseconds * 4u; n > 0; n--) __asm volatile("" ::: "memory");
#else
  (void)microseconds;
#endif
}

/* ---- The `hal` imports. The instance pointer is unused: there is one board. ---- */

/* A wasm buffer the HAL is asked to fill or read: outside the linear memory is a trap, as in the host. */
static uint8_t *wasm_span(uint32_t pointer, uint32_t length) {
  if ((uint64_t)pointer + length > MCU_MEMORY_BYTES) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return mcu_memory() + pointer;
}

static bool flash_in_range(uint32_t address, uint32_t length) {
  return address <= FLASH_SIZE_BYTES && length <= FLASH_SIZE_BYTES - address;
}

u64 Z_halZ_rtcNow(struct Z_hal_instance_t *hal) {
  (void)hal;
  return (u64)clock_seconds();
}

void Z_halZ_rtcSet(struct Z_hal_instance_t *hal, u64 seconds) {
  (void)hal;
  clock_set_seconds((int64_t)seconds);
}

void Z_halZ_flashRead(struct Z_hal_instance_t *hal, u32 address, u32 pointer, u32 length) {
  (void)hal;
  uint8_t *target = wasm_span(pointer, length);
  if (!flash_in_range(address, length)) wasm_rt_trap(WASM_RT_TRAP_OOB);
  memcpy(target, __token_store_start + address, length);
}

static void update_panel(void);

/* Before the NVMC stalls the CPU: the panel gets what the firmware has drawn so far. */
static void panel_before_flash(void) {
  if (!panel_current) update_panel();
}

u32 Z_halZ_flashProgram(struct Z_hal_instance_t *hal, u32 address, u32 pointer, u32 length) {
  (void)hal;
  panel_before_flash();
  const uint8_t *source = wasm_span(pointer, length);
  if (!flash_in_range(address, length)) return (u32)-1;
  /* Word by word; bytes outside [address, address + length) are 0xFF, which programs nothing. */
  uint32_t end = address + length;
  for (uint32_t word = address & ~3u; word < end; word += 4) {
    uint32_t value = 0xffffffffu;
    for (uint32_t byte = 0; byte < 4; byte++) {
      uint32_t at = word + byte;
      if (at >= address && at < end) value &= ~(0xffu << (8 * byte)) | ((uint32_t)source[at - address] << (8 * byte));
    }
    if (value != 0xffffffffu) {
      nrf_nvmc_write_word((uint32_t)(uintptr_t)(__token_store_start + word), value);
      METER_COUNT(words, 1);
    }
  }
  return 0;
}

u32 Z_halZ_flashErase(struct Z_hal_instance_t *hal, u32 page) {
  (void)hal;
  if (page >= FLASH_SIZE_BYTES / FLASH_PAGE_BYTES) return (u32)-1;
  panel_before_flash();
  nrf_nvmc_erase_page((uint32_t)(uintptr_t)(__token_store_start + page * FLASH_PAGE_BYTES));
  METER_COUNT(erases, 1);
  return 0;
}

u32 Z_halZ_batteryMillivolts(struct Z_hal_instance_t *hal) {
  (void)hal;
  return mcu_battery_millivolts;
}

void Z_halZ_random(struct Z_hal_instance_t *hal, u32 pointer, u32 length) {
  (void)hal;
  nrf_rng_fill(wasm_span(pointer, length), length);
  METER_COUNT(random_bytes, length);
}

/* The five light sensors (docs/transaction-signing.md): their comparators on five GPIO inputs (light.c). */
u32 Z_halZ_lightSensors(struct Z_hal_instance_t *hal) {
  (void)hal;
  return light_read();
}

/*
 * Scan mode starts (1) or ends (0): the firmware decides (the holder's hold on the info screen starts
 * it; a frame, a press or SCAN_WINDOW_SECONDS end it). The sensors' power on P0.08 and the sampling
 * timer, RTC1 COMPARE[1] on the part or TIMER2 in QEMU (light.c); the main loop takes the samples.
 */
void Z_halZ_lightPower(struct Z_hal_instance_t *hal, u32 on) {
  (void)hal;
  if (on) light_scan_begin();
  else light_scan_end();
}

/* Only the debug build imports it (the release build has no reachable abort). */
void Z_halZ_fault(struct Z_hal_instance_t *hal, u32 line, u32 column) {
  (void)hal;
  (void)column;
  mcu_fault(FAULT_HAL, line);
}

/* ---- Frames. ---- */

void frame_send(uint8_t type, const uint8_t *payload, uint32_t length) {
  uint8_t header[3] = {type, (uint8_t)length, (uint8_t)(length >> 8)};
  nrf_uart_write(header, sizeof header);
  if (length) nrf_uart_write(payload, length);
}

void frame_refuse(uint8_t type, uint8_t why) {
  uint8_t payload[2] = {type, why};
  frame_send(FRAME_ERROR, payload, sizeof payload);
}

void frame_skip(uint32_t length) {
  while (length--) nrf_uart_read();
}

void put_u32(uint8_t *at, uint32_t value) {
  for (int i = 0; i < 4; i++) at[i] = (uint8_t)(value >> (8 * i));
}

void put_u64(uint8_t *at, uint64_t value) {
  put_u32(at, (uint32_t)value);
  put_u32(at + 4, (uint32_t)(value >> 32));
}

/* ---- The firmware's events. ---- */

static void schedule(void) {
  wake = (int64_t)Z_tokenZ_wakeAt(&token);
}

/* After each call: the panel gets what the firmware drew (off when its display model says so). */
static void update_panel(void) {
  uint8_t *memory = mcu_memory();
  uint32_t framebuffer = *Z_tokenZ_FRAMEBUFFER(&token);
  if ((framebuffer & 3u) != 0) wasm_rt_trap(WASM_RT_TRAP_OOB); /* the panel reads it a word at a time */
  uint32_t mode;
  memcpy(&mode, memory + *Z_tokenZ_DISPLAY_MODEL(&token), sizeof mode);
  uint32_t lines = sharp_lcd_lines_written();
  sharp_lcd_show(memory + framebuffer, mode != MODE_OFF);
  if (sharp_lcd_lines_written() != lines) METER_DRAWN();
  panel_current = true;
}

/*
 * One sample of scan mode, at the sampling timer's instant (light.c): the firmware reads the sensors
 * and feeds its decoder. Returns scan()'s answer: 0 or STATUS_BAD_CHECKSUM (go on), a sound frame's
 * length (a transfer, now on the panel) or a refusal (either way the firmware has left scan mode and
 * called lightPower(0): the sampling timer and the sensors are off).
 */
static int32_t scan_sample(void) {
  meter_begin();
  int32_t status = (int32_t)Z_tokenZ_scan(&token);
  bool done = status != 0 && status != STATUS_BAD_CHECKSUM;
  if (done) update_panel();
  meter_end(CALL_SCAN);
  if (done) schedule();
  return status;
}

static void deliver_button(uint32_t event) {
  meter_begin();
  Z_tokenZ_button(&token, event);
  update_panel();
  meter_end(CALL_BUTTON);
  schedule();
}

/* Button A as the firmware wants it: press (up before the long-press time), hold (at it), release. */
static void button_poll(uint64_t now) {
  bool down = nrf_gpio_button_down();
#ifdef MCU_SILICON
  nrf_gpiote_port_clear();
  nrf_gpio_button_sense(down);
#endif
  if (down && button_down_at == UINT64_MAX) {
    button_down_at = now;
    hold_fired = false;
  } else if (!down && button_down_at != UINT64_MAX) {
    button_down_at = UINT64_MAX;
    deliver_button(hold_fired ? BUTTON_RELEASE : BUTTON_PRESS);
    return;
  }
  if (down && !hold_fired && now >= button_down_at + LONG_PRESS_TICKS) {
    hold_fired = true;
    deliver_button(BUTTON_HOLD);
  }
}

static uint64_t button_deadline(void) {
  return button_down_at != UINT64_MAX && !hold_fired ? button_down_at + LONG_PRESS_TICKS : UINT64_MAX;
}

static void run_due_ticks(void) {
  while (wake > 0 && clock_valid() && clock_seconds() >= wake) {
    meter_begin();
    wake = (int64_t)Z_tokenZ_tick(&token);
    update_panel();
    meter_end(CALL_TICK);
  }
}

/* The button first, then the firmware's wake-up, as the board simulator orders them. */
void mcu_events(uint64_t now) {
  button_poll(now);
  run_due_ticks();
}

static uint64_t firmware_deadline(void) {
  uint64_t due = wake > 0 ? clock_ticks_at(wake) : UINT64_MAX;
  uint64_t hold = button_deadline();
  if (hold < due) due = hold;
#ifdef MCU_SILICON
  uint64_t link = nrf_uart_link_deadline();
  if (link < due) due = link;
#endif
  return due;
}

static void link_frame(uint32_t length) {
  uint32_t buffer = *Z_tokenZ_LINK_BUFFER(&token);
  uint32_t size = *Z_tokenZ_LINK_SIZ5AE(&token);
  if (length > size) {
    frame_skip(length);
    frame_refuse(FRAME_LINK, FRAME_ERROR_TOO_LONG);
    return;
  }
  uint8_t *frame = wasm_span(buffer, size);
  for (uint32_t i = 0; i < length; i++) frame[i] = nrf_uart_read();
  meter_begin();
  uint32_t reply = Z_tokenZ_link(&token, length);
  update_panel();
  meter_end(CALL_LINK);
  schedule();
  frame_send(FRAME_LINK, frame, reply <= size ? reply : 0);
}

static void serve_frame(void) {
  uint8_t type = nrf_uart_read();
  uint32_t length = nrf_uart_read();
  length |= (uint32_t)nrf_uart_read() << 8;
  if (type == FRAME_LINK) {
    link_frame(length);
    return;
  }
#ifdef MCU_HARNESS
  if (harness_frame(type, length)) return;
#endif
  frame_skip(length);
  frame_refuse(type, FRAME_ERROR_UNKNOWN);
}

/* ---- Power-on. ---- */

/** Screen and model reads for the harness. */
Z_token_instance_t *mcu_token(void) {
  return &token;
}

static void boot_firmware(bool after_fault) {
  meter_begin();
  Z_token_instantiate(&token, NULL);
  int32_t status = (int32_t)Z_tokenZ_boot(&token);
  update_panel();
  meter_end(CALL_BOOT);
  schedule();
  uint8_t payload[13];
  put_u32(payload, (uint32_t)status);
  payload[4] = after_fault ? BOOT_FAULT : BOOT_POWER_ON;
  put_u32(payload + 5, after_fault ? mcu_retained.cause : 0);
  put_u32(payload + 9, after_fault ? mcu_retained.detail : 0);
  frame_send(FRAME_BOOTED, payload, sizeof payload);
}

int main(void) {
  bool after_fault = mcu_retained.magic == MCU_RETAINED_MAGIC;
  if (after_fault) mcu_battery_millivolts = mcu_retained.battery_millivolts;
  button_down_at = UINT64_MAX;
#ifdef MCU_SILICON
  NRF_REG(SCB_SCR) = SCB_SCR_SEVONPEND;
  nrf_gpiote_port_wake();
#endif
  nrf_uart_init();
  nrf_spi_init();
  sharp_lcd_init();
  clock_init();
  nrf_gpio_button_init();
  light_init();
  mcu_retained.magic = 0;

  uint8_t hello[9];
#ifdef MCU_HARNESS
  hello[0] = IMAGE_HARNESS;
#else
  hello[0] = IMAGE_PRODUCT;
#endif
  put_u32(hello + 1, CLOCK_HZ);
  put_u32(hello + 5, TIMER_BASE_HZ);
  frame_send(FRAME_HELLO, hello, sizeof hello);

  wasm_rt_init();
  Z_token_init_module();
#ifdef MCU_HARNESS
  harness_power_on(after_fault);
#endif
  boot_firmware(after_fault);

  for (;;) {
    uint64_t now = clock_ticks();
    mcu_events(now);
#ifdef MCU_SILICON
    nrf_uart_link_poll(now);
#endif
    /* Scan mode: one sample at each of the sampling timer's instants, the CPU asleep between them. */
    if (light_sample_due()) {
#ifdef MCU_HARNESS
      harness_sample_feed();
      harness_sample_done(scan_sample());
#else
      scan_sample();
#endif
      continue;
    }
#ifdef MCU_HARNESS
    /* A recorded sensor stream under way (FRAME_SCAN): its bytes on the link are the pins' next levels. */
    if (harness_streaming()) {
      if (!light_scanning()) harness_stream_stop();
      else mcu_sleep();
      continue;
    }
#endif
    if (nrf_uart_readable()) {
      serve_frame();
      continue;
    }
    uint64_t deadline = firmware_deadline();
#ifdef MCU_HARNESS
    if (harness_step(now)) continue;
    uint64_t fence = harness_deadline();
    if (fence < deadline) deadline = fence;
#endif
    clock_sleep_until(deadline);
  }
}
