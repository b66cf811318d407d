// switchboard/switchboard.hpp — everything an application needs.
#pragma once

#include "switchboard/config.hpp"
#include "switchboard/future.hpp"
#include "switchboard/names.hpp"
#include "switchboard/publisher.hpp"
#include "switchboard/request.hpp"
#include "switchboard/server.hpp"
#include "switchboard/session.hpp"
#include "switchboard/users.hpp"
